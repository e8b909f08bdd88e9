"""Errors raised by the vaccine rules; each also inherits the matching builtin."""


class VaccinesError(Exception):
    """Base class of every error the vaccine rules raise on purpose."""


class CatalogueError(VaccinesError, ValueError):
    """The vaccine catalogue or the age bands are invalid; the message names the offending key."""


class RuleInputError(VaccinesError, ValueError):
    """A pure rule was given impossible arguments (a programming error, not an ineligible person)."""
