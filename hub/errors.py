"""Errors the hub raises on purpose: each inherits HubError and the builtin it stands for, so `except ValueError` still works."""


class HubError(Exception):
    """Base class of every error the hub raises on purpose; `hub` prints its message and exits 2."""


class StoreError(HubError, RuntimeError):
    """The hub's database failed a write for a reason of its own (full disk, locked, read-only, corrupt): nothing of the
    batch was kept, and the same write can succeed later. A value of the batch that the database refuses raises
    something else (see hub.store.Store.commit)."""


class RosterImportBusy(StoreError):
    """Another roster import into the same database is under way; this one wrote nothing."""


class RosterImportUnfinished(StoreError):
    """The database failed after a roster import was staged whole: the import is kept, part of it may be applied, and
    the next import or the next start of the hub applies the rest (hub/store/roster.py)."""

    def __init__(self, message: str, import_id: int):
        super().__init__(message)
        self.import_id = import_id


class CAError(HubError, ValueError):
    """A CA folder, CSR or certificate the hub cannot use; the message says which file and why."""


class PasswordFileError(HubError, ValueError):
    """A Mosquitto password file that cannot be read or rewritten safely."""


class BrokerError(HubError, ValueError):
    """A broker address the hub cannot use."""


class WorkerDied(HubError, ChildProcessError):
    """The merge worker exited while `hub run` needed it: the hub stops, non-zero, for systemd to restart it."""


class PasswordRuleError(HubError, ValueError):
    """A password or staff name that the rules (hub/passwords.py) refuse; ``code`` names the rule, for the web to say it
    in the user's language."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class StaffError(HubError, ValueError):
    """A staff account that cannot be added or changed: the name is taken, or there is no such account."""


class RosterFileError(HubError, ValueError):
    """A roster file that cannot be read at all (wrong type, not UTF-8, malformed XLSX, too large, no header or a
    required column missing); ``code`` is one of hub/roster/reasons.py's FILE_REASONS. Nothing was imported."""

    def __init__(self, code: str, detail: str = ""):
        from .roster.reasons import FILE_REASONS

        self.code = code
        english = FILE_REASONS[code][1]
        super().__init__(f"{english} {detail}".strip())


class RosterDistrictError(HubError, ValueError):
    """A roster import whose district does not fit the hub (hub/roster/district.py): none given at a province's hub, one
    the hub has no kiosks of, or one at a district's hub. ``code`` names which, for the web to say it in the user's
    language. Nothing was imported."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class CorrectionError(HubError, ValueError):
    """A correction the hub will not keep (hub/corrections.py): a value that cannot be, or one the records contradict
    (no such dose, conflict already resolved). ``code`` is a key of corrections.REASONS, for the web to say it in the
    user's language. Nothing was written."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class SearchError(HubError, ValueError):
    """A person search the workspace cannot run (hub/people.py parse_search); ``code`` says why, for the web to say it
    in the member's language. The message never repeats what was typed."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
