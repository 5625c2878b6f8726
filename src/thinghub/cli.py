"""The `thinghub` command."""

from __future__ import annotations

import gc
import logging
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from thinghub.config import DEFAULT_PORT, DEFAULT_REGION, ConfigError, load_settings
from thinghub.wire.models import models_path

cli = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help=f"Port to listen on; 0 picks a free one [default: {DEFAULT_PORT}]"),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the embedded database lives [default: ./.thinghub]")
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            help="Database URL, sqlite:///... or postgresql://... [default: SQLite in data dir]"
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config file")] = None,
    clock: Annotated[
        str | None, typer.Option(help="system, or manual (moved by POST /_thinghub/clock)")
    ] = None,
    access_log: Annotated[bool | None, typer.Option(help="Log every request")] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="URL browsers use to reach thinghub (OAuth callback) [default: endpoint]"
        ),
    ] = None,
) -> None:
    """Serve the managed integrations, IoT Events and IoT Events data APIs on one endpoint."""
    from thinghub.app import ThinghubApp
    from thinghub.hub import Hub

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(config).with_flags(
            host=host,
            port=port,
            data_dir=data_dir,
            database=database,
            clock=clock,
            access_log=access_log,
            public_url=public_url,
        )
        hub = Hub(settings)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"thinghub: {exc}", err=True)
        raise typer.Exit(2) from None
    hub.start()
    # Start-up built large, long-lived structures (models, compiled validators); keep the cyclic
    # garbage collector from walking them again and again while serving.
    gc.collect()
    gc.freeze()
    sock = _listen(settings.host, settings.port)
    bound_port = sock.getsockname()[1]
    local_host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
    hub.endpoint_url = f"http://{'[::1]' if local_host == '::' else local_host}:{bound_port}"
    display_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    typer.echo(f"thinghub listening on http://{display_host}:{bound_port}")
    identity = settings.identities[0]
    typer.echo(
        f"credentials: AWS_ACCESS_KEY_ID={identity.access_key} "
        f"AWS_SECRET_ACCESS_KEY={identity.secret_key} AWS_DEFAULT_REGION={DEFAULT_REGION} "
        f"(account {identity.account_id}; any region works)"
    )
    server = uvicorn.Server(
        uvicorn.Config(
            ThinghubApp(hub),
            lifespan="on",
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=settings.access_log,
            timeout_graceful_shutdown=10,
            # thinghub reads neither proxy headers nor needs a Server header; both cost time.
            proxy_headers=False,
            server_header=False,
        )
    )
    # uvicorn re-raises the stop signal once it has shut down gracefully; by then the work is
    # done, so the signal must end the process with status 0 rather than kill it.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        hub.stop()
    logging.getLogger("thinghub").info("thinghub stopped")


@cli.command()
def demo(
    port: Annotated[
        int, typer.Option(help="thinghub's port; 0 picks a free one (the banner says which)")
    ] = DEFAULT_PORT,
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its data and logs; emptied at each start")
    ] = Path(".thinghub-demo"),
    duration: Annotated[
        float | None,
        typer.Option(
            min=0, help="Stop this many seconds after set-up", show_default="run until Ctrl-C"
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between two simulated device changes")
    ] = 2.0,
    quiet: Annotated[
        bool, typer.Option(help="Only the set-up and the closing state, no live log")
    ] = False,
    color: Annotated[bool, typer.Option(help="Colour the output")] = True,
    heat_wave_after: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds of live log before the porch heats above 30 °C (again 2 min after each)",
        ),
    ] = 10.0,
) -> None:
    """Run thinghub with a simulated vendor cloud and its connector: link, discover, command,
    and watch device events flow into detectors and commands come back, until Ctrl-C."""
    from thinghub.demo import Options, run_demo

    options = Options(
        port,
        data_dir,
        duration,
        interval,
        quiet=quiet,
        color=color,
        heat_wave_after=heat_wave_after,
    )
    raise typer.Exit(run_demo(options))


@cli.command("models-path")
def models_path_command() -> None:
    """Print the directory to put on AWS_DATA_PATH so boto3 can build IoT Events clients."""
    typer.echo(str(models_path()))


def _listen(host: str, port: int) -> socket.socket:
    """Bind and listen before printing the endpoint, so port 0 reports the real port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        typer.echo(f"thinghub: cannot listen on {host}:{port}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main() -> None:
    cli()
