"""Which district a roster import writes on its entries: at a province's hub (kiosks of several districts, imported
with `hub kiosks import --district`) the list's own district, so that coverage counts each district's communes apart;
at a district's hub none ("")."""

from __future__ import annotations

from ..errors import RosterDistrictError


def import_district(asked: str | None, districts: list[str]) -> str:
    """The district of an import asked for ``asked`` at a hub whose kiosks belong to ``districts`` (none at a district's
    hub): ``asked`` when it is one of them, "" at a district's hub asked for none; raise RosterDistrictError otherwise."""
    asked = asked or ""
    if not districts:
        if asked:
            raise RosterDistrictError("not_a_province", f"district {asked!r}: this hub is a district's (no kiosks of "
                                      "other districts were imported), its roster has no district")
        return ""
    if not asked:
        raise RosterDistrictError("district_needed", "this hub holds the kiosks of the districts "
                                  f"{', '.join(districts)}: say which district the list belongs to")
    if asked not in districts:
        raise RosterDistrictError("unknown_district", f"district {asked!r}: this hub has no kiosks of it (its "
                                  f"districts: {', '.join(districts)})")
    return asked
