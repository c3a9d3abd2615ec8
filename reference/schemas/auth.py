from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reference.schemas.common import Body, Code, DbId, Mobile, Name, Password, SubPlatform
from reference.validation import check_id_number

IdType = Literal["resident_id", "passport", "hk_macao_pass", "taiwan_pass"]
IdNumber = Annotated[str, StringConstraints(min_length=5, max_length=20, pattern=r"^[0-9A-Za-z]+$")]


class Register(Body):
    mobile: Mobile
    code: Code
    password: Password
    real_name: Name
    id_type: IdType
    id_number: IdNumber
    school_id: DbId
    sub_platform: SubPlatform

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, number: str, info: ValidationInfo) -> str:
        return check_id_number(info.data.get("id_type", "resident_id"), number)


class Login(Body):
    mobile: Mobile
    password: Password | None = None
    code: Code | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> Login:
        if (self.password is None) == (self.code is None):
            raise ValueError("give either password or code")
        return self


class ResetPassword(Body):
    mobile: Mobile
    code: Code
    new_password: Password


class Registered(BaseModel):
    teacher_id: int
    token: str


class LoggedIn(Registered):
    role: str


class Done(BaseModel):
    ok: bool = True
