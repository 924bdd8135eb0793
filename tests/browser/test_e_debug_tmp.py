from tests.browser.test_token_callbacks import *  # noqa
from tests.browser.conftest import *  # noqa

def test_debug(parley, site, new_page):
    page = new_page()
    msgs = []
    page.on("console", lambda m: msgs.append(m.text))
    page.on("pageerror", lambda e: msgs.append(str(e)))
    page.goto(site_page(page, site, parley, "callback", "cb-dbg2", token_function="getChatToken"))
    page.wait_for_timeout(4000)
    print("MSGS", msgs, page.evaluate("window.tokenCalls()"))
    print(page.content()[-400:])
