"""fastapi-users with SQLite, as its documentation sets it up.

Register at /auth/register, log in at /auth/jwt/login (form-encoded
username/password; the JWT strategy, stateless), read the account at
/users/me with the bearer token.

Password hashing is pwdlib's argon2id. Its defaults (m=65536 KiB, t=3, p=4)
apply unless ARGON2_M_KIB, ARGON2_T and ARGON2_P are set: the benchmark sets
them to latchkey's (19456, 2, 1) for logins at equal hash cost.

    DB_URL=sqlite+aiosqlite:///./users.db uvicorn app:app --port 3300
"""

import os
import uuid
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

SECRET = "bench-only-secret-bench-only-secret-0123"
engine = create_async_engine(os.environ.get("DB_URL", "sqlite+aiosqlite:///./users.db"))


@event.listens_for(engine.sync_engine, "connect")
def sqlite_settings(connection, _record):
    cursor = connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


sessions = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


def password_helper() -> PasswordHelper | None:
    if "ARGON2_M_KIB" not in os.environ:
        return None  # pwdlib's defaults
    hasher = Argon2Hasher(
        memory_cost=int(os.environ["ARGON2_M_KIB"]),
        time_cost=int(os.environ.get("ARGON2_T", "2")),
        parallelism=int(os.environ.get("ARGON2_P", "1")),
    )
    return PasswordHelper(PasswordHash((hasher,)))


HELPER = password_helper()


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def user_db():
    async with sessions() as session:
        yield SQLAlchemyUserDatabase(session, User)


async def user_manager(db: SQLAlchemyUserDatabase = Depends(user_db)):
    yield UserManager(db, HELPER)


jwt = AuthenticationBackend(
    name="jwt",
    transport=BearerTransport(tokenUrl="auth/jwt/login"),
    get_strategy=lambda: JWTStrategy(secret=SECRET, lifetime_seconds=3600),
)
users = FastAPIUsers[User, uuid.UUID](user_manager, [jwt])


@asynccontextmanager
async def lifespan(_app: FastAPI):
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield


app = FastAPI(lifespan=lifespan)
app.include_router(users.get_auth_router(jwt), prefix="/auth/jwt")
app.include_router(users.get_register_router(UserRead, UserCreate), prefix="/auth")
app.include_router(users.get_users_router(UserRead, UserUpdate), prefix="/users")


@app.get("/health")
async def health():
    return {"ok": True}
