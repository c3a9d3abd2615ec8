"""Everything a request needs that lives as long as the app: built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher

from reference.catalogue import Catalogue
from reference.clock import Clock
from reference.committer import GroupCommitter
from reference.db import Database
from reference.security import TokenSigner
from reference.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    catalogue: Catalogue
    clock: Clock
    signer: TokenSigner
    hasher: PasswordHasher
    committer: GroupCommitter
