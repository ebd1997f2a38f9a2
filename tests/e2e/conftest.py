"""Browser fixtures of the web page's tests (tests/support/web_page.py)."""

from tests.support.web_page import browser, open_page, page

__all__ = ["browser", "open_page", "page"]
