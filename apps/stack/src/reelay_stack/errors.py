"""The one error `reelay up` reports as a single line: what is wrong and how to fix it."""


class StackError(Exception):
    pass
