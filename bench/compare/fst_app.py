"""
Flask-Security-Too with its two-factor JSON API, as the bench's peer
(BENCHMARKS.md, "Side by side"): the same routes the scenarios drive
(/register, /tf-setup, /login, /tf-validate, /logout), a GET /me behind
auth_required, and /readyz. Postgres through SQLAlchemy; the authenticator
method only; the password hash chosen by FST_HASH: "argon2" (the default:
argon2id with our parameters, m=19456 KiB, t=2, p=1) or "bcrypt"
(Flask-Security's own default, 12 rounds).

Started by fst.sh (a fresh database, gunicorn) on Debian 12's packages; the
commands are in BENCHMARKS.md.
"""

import os

from flask import Flask, jsonify
from flask_security import Security, SQLAlchemyUserDatastore, auth_required, current_user
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config.update(
    SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnop",
    SECURITY_PASSWORD_SALT="bench-salt-0123456789",
    SQLALCHEMY_DATABASE_URI=os.environ.get("FST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/fst_bench"),
    SQLALCHEMY_TRACK_MODIFICATIONS=False,
    # The bench's clients send JSON without a CSRF token, as they do to a service with CSRF off.
    WTF_CSRF_ENABLED=False,
    SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS=True,
    SECURITY_REGISTERABLE=True,
    # The bench's addresses are @bench.example: no DNS lookup for them.
    SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False},
    SECURITY_SEND_REGISTER_EMAIL=False,
    SECURITY_TWO_FACTOR=True,
    SECURITY_TWO_FACTOR_ENABLED_METHODS=["authenticator"],
    SECURITY_TOTP_SECRETS={"1": "bench-totp-key-0123456789abcdef"},
    SECURITY_TOTP_ISSUER="bench",
)
if os.environ.get("FST_HASH", "argon2") == "argon2":
    app.config.update(
        SECURITY_PASSWORD_HASH="argon2",
        SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS={
            "argon2__type": "ID",
            "argon2__memory_cost": 19456,
            "argon2__rounds": 2,
            "argon2__parallelism": 1,
        },
    )

db = SQLAlchemy(app)
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):
    pass


class User(db.Model, fsqla.FsUserMixin):
    pass


security = Security(app, SQLAlchemyUserDatastore(db, User, Role))

with app.app_context():
    db.create_all()
    # Made in gunicorn's master (--preload): no connection of its pool may cross the fork.
    db.engine.dispose()


@app.get("/me")
@auth_required("session")
def me():
    return jsonify({"meta": {"code": 200}, "response": {"user": {"email": current_user.email}}})


@app.get("/readyz")
def readyz():
    return jsonify({"status": "ok"})
