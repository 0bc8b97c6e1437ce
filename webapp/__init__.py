"""Reelqueue's Flask application factory: wiring only (no migrations, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: type | Mapping[str, Any] | None = None, **overrides: Any) -> Flask:
    """Build the app from a config class (default :class:`Config`) or a mapping on top of it.

    Raises :class:`webapp.config.ConfigError` with one line naming a bad setting.
    """
    from webapp.config import Config, validate

    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=False,
    )
    if config is None or isinstance(config, type):
        app.config.from_object(config or Config)
    else:
        app.config.from_object(Config)
        app.config.update(config)
    app.config.update(overrides)
    validate(app.config)

    from webapp.logging_setup import configure_logging

    configure_logging(app)
    init_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_cli(app)

    from webapp.templating import register_template_helpers

    register_template_helpers(app)

    from worker.broker import bind_app

    bind_app(app)
    return app


def init_extensions(app: Flask) -> None:
    from webapp import models  # noqa: F401  (register every table)
    from webapp.config import PROJECT_ROOT
    from webapp.database import configure_engine
    from webapp.extensions import db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    configure_engine(app)


def register_blueprints(app: Flask) -> None:
    from webapp.admin.views import bp as admin_api_bp
    from webapp.api.openapi import bp as openapi_bp
    from webapp.dashboard import bp as dashboard_bp
    from webapp.health import bp as health_bp
    from webapp.jobs.views import bp as jobs_bp
    from webapp.storyboards.views import bp as storyboards_bp
    from webapp.webhooks.views import bp as webhooks_bp

    app.register_blueprint(jobs_bp)
    app.register_blueprint(storyboards_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(admin_api_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(openapi_bp)

    from webapp.metrics import init_metrics

    init_metrics(app)


def register_request_hooks(app: Flask) -> None:
    from webapp.errors import register_error_handlers
    from webapp.requests import register_request_id
    from webapp.security import register_security_headers

    register_request_id(app)
    register_security_headers(app)
    register_error_handlers(app)


def register_cli(app: Flask) -> None:
    from webapp.cli import register_commands

    register_commands(app)
