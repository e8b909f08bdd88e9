"""The provincial workspace: at a hub whose kiosks belong to several districts (`hub kiosks import --district`), the
pages that count or list by site or kiosk show a district selector and read the district chosen, kept in the URL as
``?district=NAME`` (a district's name, never personal data) so a link can be shared; no ``district``: the whole
province. A hub of one district (or none) is a district's: no selector, the parameter is ignored, nothing changes.
"""

from __future__ import annotations

from typing import Any

import logging

from flask import abort, current_app, g, request
from flask_babel import gettext as _

from ..store import StoreError

logger = logging.getLogger(__name__)


def province_districts() -> list[str]:
    """The districts the selector offers: every district of the enrolled kiosks when there are several, else none
    (read once per request)."""
    if "province_districts" not in g:
        names = current_app.extensions["hub"].store.district_names()
        g.province_districts = names if len(names) > 1 else []
    return g.province_districts


def chosen_district() -> str | None:
    """The district the page asks for (``?district=``), None for the whole province or at a district hub; a name
    that is not one of the province's districts is 404."""
    asked = request.args.get("district") or None
    if asked is None:
        return None
    names = province_districts()
    if not names:
        return None
    if asked not in names:
        abort(404)
    return asked


def district_view() -> dict[str, Any]:
    """What a page's template needs for the selector (``_districts.html``): ``districts`` (empty at a district hub)
    and the ``district`` chosen."""
    return {"districts": province_districts(), "district": chosen_district()}


def own_entries() -> str:
    """What the hub's own doses (entered by its staff, no kiosk) are called: the province's or the district's."""
    return _("Entered at the province") if province_districts() else _("Entered by the district")


def workspace_kind() -> dict[str, bool]:
    """For every page's layout: whether this is a province's workspace (its title says so). A database that cannot be
    read says no here: the page's own read reports the failure."""
    try:
        return {"provincial": bool(province_districts())}
    except StoreError as exc:
        logger.warning("could not read the districts: %s", exc)
        return {"provincial": False}


def init_app(app) -> None:
    app.context_processor(workspace_kind)
