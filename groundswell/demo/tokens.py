"""The demo people's tokens, kept across restarts of `groundswell serve --demo`.

Tokens are stored hashed (groundswell/access/tokens.py), so the plain ones `make run` printed cannot
be read back from the store. To print the same ones again, and leave signed-in tabs signed
in, the plain demo tokens are kept in ``demo-tokens.json`` in the data directory, readable
by its owner only (mode 0600). Kept rather than derived from a secret: a derivation would
need a secret in the same place, equally sensitive, and would make a revoked demo token come
back unchanged; a kept token is checked against the store at every start and replaced when
it was revoked or belongs to another store. ``fresh=True`` revokes them and issues new ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from groundswell.access.tokens import TokenStore

FILE = "demo-tokens.json"
LABEL = "demo (printed by groundswell serve)"


def kept(path: Path) -> dict[str, str]:
    """The plain tokens kept at ``path`` by handle (nothing when missing or unreadable)."""
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(h): str(t) for h, t in found.items() if isinstance(t, str)}


def keep(path: Path, tokens: dict[str, str]) -> None:
    """Write the tokens readable by their owner only, never briefly readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(path.name + ".new")
    draft.unlink(missing_ok=True)
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(tokens, file, indent=1)
    os.replace(draft, path)


def demo_tokens(
    store: TokenStore, data_dir: Path, handles: list[str], fresh: bool = False
) -> dict[str, str]:
    """A live token for each demo person: the one kept from an earlier start when it still
    belongs to them, else a new one. ``fresh`` revokes every demo token and issues new ones."""
    path = data_dir / FILE
    tokens = {} if fresh else kept(path)
    if fresh:
        for old in store.list():
            if old.label == LABEL and old.revoked_at is None:
                store.revoke(old.token_id)
    live = {h: t for h, t in tokens.items() if h in handles and store.holder(t) == h}
    for handle in handles:
        if handle not in live:
            live[handle] = store.issue(handle, LABEL)[0]
    if live != tokens or not path.exists() or path.stat().st_mode & 0o077:
        keep(path, live)
    return live
