"""Everything a request needs that lives as long as the app: built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher

from reference.bootstrap import bootstrap
from reference.catalogue import Campaigns, Catalogue, load_campaigns
from reference.clock import Clock
from reference.committer import GroupCommitter, make_committer
from reference.db import Database
from reference.security import TokenSigner, password_hasher
from reference.services.sms import RecordingGateway, SmsGateway
from reference.session_gate import SessionGate
from reference.settings import Settings
from reference.waiting_room import WaitingRoom


@dataclass
class AppState:
    settings: Settings
    db: Database
    catalogue: Catalogue  # the default campaign: the only one, or a platform's first
    clock: Clock
    signer: TokenSigner
    hasher: PasswordHasher
    committer: GroupCommitter
    campaigns: Campaigns  # every campaign served (catalogue is campaigns.default)
    # built with the app, not at import: a test or a deployment hands in its own
    sms_gateway: SmsGateway = field(default_factory=RecordingGateway)
    waiting_room: WaitingRoom | None = None  # logins past the room's rate queue (settings.waiting_room)
    # requests that may hold database connections at once (sized by the database's pools)
    session_gate: SessionGate = field(init=False)

    def __post_init__(self) -> None:
        self.session_gate = SessionGate(self.db.request_slots)

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None, init_db: bool | None = None) -> AppState:
        """Open the database (creating tables and start-up rows if ``init_db``, default the
        settings' choice) and read the campaigns from the scenario (a campaign scenario, or a
        platform scenario's several)."""
        campaigns = load_campaigns(settings.scenario)
        catalogue = campaigns.default
        db = Database(settings.database_url)
        if init_db if init_db is not None else settings.init_db:
            for each in campaigns:
                bootstrap(db, each)
        clock = clock or Clock(
            settings.clock_start, settings.clock_origin, catalogue.rules.zone, settings.clock_rate
        )
        signer = TokenSigner(settings.secret, settings.token_ttl_s)
        committer = make_committer(db, settings.committer)
        room = (WaitingRoom(settings.waiting_room, settings.secret, settings.waiting_room_max_wait_s)
                if settings.waiting_room else None)
        return cls(settings, db, catalogue, clock, signer, password_hasher(settings), committer,
                   campaigns, waiting_room=room)
