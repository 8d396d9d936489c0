"""The page as HTML: Jinja templates shipped in the package, autoescaped, with no inline script."""

from __future__ import annotations

import datetime as dt
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from devops_studio import __version__
from devops_studio.dashboard.model import Fact, utcnow
from devops_studio.dashboard.texts import translator
from devops_studio.dashboard.views import Page, mark

DEFAULT_REFRESH = 30


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("devops_studio.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["mark"] = mark
    env.filters["clock"] = clock
    return env


def clock(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%H:%M:%S UTC") if moment else ""


def _common(page: Page, lang: str, refresh: int, root: str) -> dict:
    return {
        "page": page,
        "lang": lang,
        "t": translator(lang),
        "refresh": refresh,
        "root": root,
        "built_at": utcnow(),
        "version": __version__,
        "Fact": Fact,
    }


def render_index(page: Page, lang: str = "en", refresh: int = DEFAULT_REFRESH) -> str:
    return environment().get_template("index.html").render(**_common(page, lang, refresh, ""))


def render_history(page: Page, app: str, lang: str = "en", refresh: int = DEFAULT_REFRESH) -> str:
    view = next(a for a in page.apps if a.name == app)
    return environment().get_template("history.html").render(app=view, **_common(page, lang, refresh, "../../"))
