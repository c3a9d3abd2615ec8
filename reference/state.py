"""Everything a request needs that lives as long as the app: built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher

from domain.scenario import load_scenario
from reference.bootstrap import bootstrap
from reference.catalogue import Catalogue
from reference.clock import Clock
from reference.committer import GroupCommitter, make_committer
from reference.db import Database
from reference.security import TokenSigner, password_hasher
from reference.services.sms import RecordingGateway, SmsGateway
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
    # built with the app, not at import: a test or a deployment hands in its own
    sms_gateway: SmsGateway = field(default_factory=RecordingGateway)

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None, init_db: bool | None = None) -> AppState:
        """Open the database (creating tables and start-up rows if ``init_db``, default the
        settings' choice) and read the campaign from the scenario."""
        catalogue = Catalogue(load_scenario(settings.scenario))
        db = Database(settings.database_url)
        if init_db if init_db is not None else settings.init_db:
            bootstrap(db, catalogue)
        clock = clock or Clock(
            settings.clock_start, settings.clock_origin, catalogue.rules.zone, settings.clock_rate
        )
        signer = TokenSigner(settings.secret, settings.token_ttl_s)
        committer = make_committer(db, settings.committer)
        return cls(settings, db, catalogue, clock, signer, password_hasher(settings), committer)
