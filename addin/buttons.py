"""The one table of ribbon buttons: id, what the clerk sees, and which Python handler runs.

``addin/ribbon.xml`` shows these buttons and the VBA dispatcher passes each click's id to
Python unchanged, so adding a button means one row here and one ``<button>`` in the ribbon
(the build and the tests refuse a ribbon that disagrees with this table) and never a VBA
change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "package.module:function": resolved lazily by the dispatcher so that importing this
# table (at build time, on Linux, without Excel) never imports the handlers or xlwings.
_HANDLER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
# Ribbon ids are xsd:ID-like; keeping them to this set also keeps them safe inside the
# single-quoted Python string that the VBA dispatcher builds.
_BUTTON_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Button:
    """One ribbon button: its ribbon id, its look, and its handler as ``module:function``."""

    id: str
    label: str
    image_mso: str
    screentip: str
    supertip: str
    handler: str

    def __post_init__(self) -> None:
        if not _BUTTON_ID.match(self.id):
            raise ValueError(f"button id {self.id!r} must be letters, digits and underscores")
        if not _HANDLER.match(self.handler):
            raise ValueError(f"handler {self.handler!r} must look like 'package.module:function'")


_HANDLERS = "receivables.addin.handlers"

BUTTONS: tuple[Button, ...] = (
    Button(
        id="collections_classify",
        label="Classify",
        image_mso="ConditionalFormattingMenu",
        screentip="Classify receivables",
        supertip=(
            "Mark every row of the receivables table with its days overdue, aging bucket, "
            "collection stage and next action."
        ),
        handler=f"{_HANDLERS}:classify",
    ),
    Button(
        id="collections_plan",
        label="Collection Plan",
        image_mso="TableInsert",
        screentip="Build the collection plan",
        supertip=(
            "Write the prioritised collection plan, the aging summary, the action calendar "
            "and the exceptions into new sheets."
        ),
        handler=f"{_HANDLERS}:plan",
    ),
    Button(
        id="collections_letters",
        label="Demand Letters",
        image_mso="MailMergeStartLetters",
        screentip="Write demand letters",
        supertip=(
            "Write one Word letter per customer at the letter stages, from the team's "
            "letter templates."
        ),
        handler=f"{_HANDLERS}:letters",
    ),
    Button(
        id="collections_email",
        label="Email",
        image_mso="FileSendAsAttachment",
        screentip="Email the customers",
        supertip=(
            "Write the letters with one email draft per customer (the letter attached) and "
            "the SMS texts; send the drafts over SMTP when the settings say so."
        ),
        handler=f"{_HANDLERS}:email",
    ),
    Button(
        id="collections_settings",
        label="Settings",
        image_mso="PropertySheet",
        screentip="Collection settings",
        supertip="Insert an editable settings sheet with the stages, thresholds and owners.",
        handler=f"{_HANDLERS}:settings",
    ),
    Button(
        id="collections_help",
        label="Help",
        image_mso="Help",
        screentip="Help",
        supertip="How the Collections buttons work and what they write.",
        handler=f"{_HANDLERS}:help_",
    ),
)


def button(button_id: str) -> Button:
    """Return the button with ``button_id``; ``KeyError`` names the known ids if unknown."""
    for candidate in BUTTONS:
        if candidate.id == button_id:
            return candidate
    known = ", ".join(b.id for b in BUTTONS)
    raise KeyError(f"unknown ribbon button {button_id!r} (known: {known})")
