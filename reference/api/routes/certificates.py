from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from reference.api.deps import CurrentTeacher, ReadSessionDep, StateDep, served
from reference.errors import ApiError
from reference.models import Certificate, Teacher
from reference.schemas.certificates import CertificateOut
from reference.schemas.common import CampaignName, Problem

router = APIRouter(tags=["certificates"])


@router.get("/certificate", name="certificate", responses={404: {"model": Problem}})
def download(
    claims: CurrentTeacher,
    state: StateDep,
    session: ReadSessionDep,
    campaign_name: Annotated[CampaignName | None, Query(alias="campaign")] = None,
) -> CertificateOut:
    """The caller's certificate of a campaign (default: the server's first), once the batch
    after that campaign's window has issued it."""
    campaign = served(state, campaign_name).name
    row = session.execute(
        select(Certificate, Teacher)
        .join(Teacher, Teacher.id == Certificate.teacher_id)
        .where(Certificate.teacher_id == claims.account_id, Certificate.campaign == campaign)
    ).first()
    if row is None:
        raise ApiError(
            404,
            f"no certificate: {campaign} certificates are issued in one batch "
            "after the window, to teachers who completed it",
        )
    cert, teacher = row
    return CertificateOut(
        serial=cert.serial,
        campaign=campaign,
        teacher_id=teacher.id,
        real_name=teacher.real_name,
        id_number_masked=_mask(teacher.id_number),
        credited_hours=cert.credited_hours,
        issued_at=cert.issued_at,
    )


def _mask(number: str) -> str:
    return number[:3] + "*" * max(0, len(number) - 7) + number[-4:]
