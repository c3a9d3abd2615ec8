from __future__ import annotations

from pydantic import BaseModel, model_validator

from reference.schemas.auth import IdNumber, IdType
from reference.schemas.common import Body, DbId, Name, SubPlatform


class Profile(BaseModel):
    teacher_id: int
    mobile: str
    real_name: str
    id_type: str
    id_number: str
    sub_platform: SubPlatform
    school_id: int | None
    school_name: str | None
    province: str
    county: str
    role: str
    verified: bool


class ProfilePatch(Body):
    real_name: Name | None = None
    id_type: IdType | None = None
    id_number: IdNumber | None = None
    school_id: DbId | None = None

    @model_validator(mode="after")
    def _id_number(self) -> ProfilePatch:
        # id_number alone is checked against the stored id_type by the route.
        if self.id_type is not None and self.id_number is None:
            raise ValueError("id_type changes only together with id_number")
        return self
