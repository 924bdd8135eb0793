"""``python manage.py chat_benchmark``: drive Parley over real WebSockets and
report relay throughput and latency next to two bare Channels anchors
(docs/performance.md).

    python manage.py chat_benchmark --url http://127.0.0.1:8000 --conversations 200 --rate 1 --seconds 30 \\
        --json out.json

Without ``--url`` it starts its own server (embedded default: SQLite and the
in-memory layer); ``--production --processes N`` starts N daphne processes on
PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL`` or local defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bench import runner, setup
from bench.server import BenchServer


class Command(BaseCommand):
    help = "Load benchmark over real WebSockets: relay throughput, latency, queries, memory, with anchors."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--url",
            action="append",
            default=[],
            help="A running server (repeat for several processes); it needs PARLEY_BENCHMARK_ROUTES=true, "
            "PARLEY_MAX_SOCKETS_PER_IP=0 and this command's DATABASE_URL. Without it a server is started.",
        )
        parser.add_argument("--conversations", type=int, default=200)
        parser.add_argument("--rate", type=float, default=1.0, help="Messages per second per conversation.")
        parser.add_argument("--seconds", type=float, default=30.0, help="Length of the paced (latency) phase.")
        parser.add_argument(
            "--saturate-seconds",
            type=float,
            default=10.0,
            help="Closed-loop (throughput) time of each side: the relay, the group relay and the echo.",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            help="The sides' closed loops take turns in this many rounds (the machine's drift falls on all alike).",
        )
        parser.add_argument("--agents", type=int, default=0, help="Agents (default: one per 20 conversations).")
        parser.add_argument("--history", type=int, default=0, help="Earlier messages added to each conversation.")
        parser.add_argument(
            "--probe-history", type=int, default=0, help="Measure welcome/history in a conversation this long."
        )
        parser.add_argument("--idle", type=int, default=0, help="Then hold this many idle widgets on one process.")
        parser.add_argument("--idle-hold", type=float, default=5.0)
        parser.add_argument(
            "--idle-tracemalloc",
            action="store_true",
            help="With --idle: trace the server's allocations while the widgets open (where the memory goes).",
        )
        parser.add_argument(
            "--soak",
            action="store_true",
            help="Instead of the usual phases: --soak-minutes at --conversations x --rate with 10%% of the sockets"
            " reconnecting every minute; lost messages, RSS and p99 per minute.",
        )
        parser.add_argument("--soak-minutes", type=int, default=30)
        parser.add_argument(
            "--soak-tracemalloc",
            type=int,
            default=0,
            metavar="MINUTE",
            help="With --soak: trace the server's allocations from the end of this minute to the end and report"
            " what it still holds of them, by line (where memory growth goes; the trace slows the server).",
        )
        parser.add_argument(
            "--second-wave",
            action="store_true",
            help="Then the relay with a webhook endpoint on message.created, five supervisors and notes being"
            " written, against the relay without them, in turns.",
        )
        parser.add_argument(
            "--webhook-only",
            action="store_true",
            help="With --second-wave: the webhook endpoint alone (no supervisors, no notes), and the webhook"
            " deliveries per second it reached.",
        )
        parser.add_argument(
            "--pick-queue",
            action="store_true",
            help="Then a pick queue of --pick-open open conversations and --pick-agents agents: welcome, CPU per"
            " new conversation, queue frames per agent.",
        )
        parser.add_argument("--pick-open", type=int, default=2000)
        parser.add_argument("--pick-agents", type=int, default=200)
        parser.add_argument(
            "--long-list",
            type=int,
            default=0,
            help="Then an agent with this many waiting persistent conversations connects ten times (welcome).",
        )
        parser.add_argument("--json", dest="json_path", help="Write the full report here.")
        parser.add_argument("--production", action="store_true", help="PostgreSQL + Redis server processes.")
        parser.add_argument("--processes", type=int, default=1)
        parser.add_argument("--setup", choices=sorted(setup.ACTIONS), help=argparse.SUPPRESS)

    def handle(self, *args, **options) -> None:
        if options["setup"]:  # run by the benchmark in the server's environment: JSON in, JSON out
            result = setup.ACTIONS[options["setup"]](json.load(sys.stdin))
            self.stdout.write(json.dumps(result))
            return
        if options["conversations"] < 1 or options["rate"] <= 0 or options["seconds"] <= 0:
            raise CommandError("--conversations, --rate and --seconds must be positive.")
        bench_options = runner.Options(
            conversations=options["conversations"],
            rate=options["rate"],
            seconds=options["seconds"],
            saturate_seconds=options["saturate_seconds"],
            rounds=options["rounds"],
            agents=options["agents"],
            history=options["history"],
            probe_history=options["probe_history"],
            idle=options["idle"],
            idle_hold=options["idle_hold"],
            idle_tracemalloc=options["idle_tracemalloc"],
            soak=options["soak"],
            soak_minutes=options["soak_minutes"],
            soak_trace_from=options["soak_tracemalloc"],
            second_wave=options["second_wave"],
            webhook_only=options["webhook_only"],
            pick_queue=options["pick_queue"],
            pick_open=options["pick_open"],
            pick_agents=options["pick_agents"],
            long_list=options["long_list"],
        )
        if options["webhook_only"] and not options["second_wave"]:
            raise CommandError("--webhook-only goes with --second-wave.")
        if options["soak"] and options["soak_minutes"] < 1:
            raise CommandError("--soak-minutes must be 1 or more.")

        def log(line: str) -> None:
            self.stderr.write(f"chat_benchmark: {line}")

        if options["url"]:
            urls = [url.rstrip("/") for url in options["url"]]

            def run_setup(action: str, spec: dict) -> dict:
                return setup.ACTIONS[action](spec)

            report = asyncio.run(runner.run(urls, run_setup, bench_options, log))
            report["server"]["mode"] = "external"
        else:
            # the second wave's webhook goes to this client's loopback receiver, and an endpoint switched
            # on or off reaches the server processes within a second
            extra_env = (
                {"PARLEY_WEBHOOK_ALLOW_PRIVATE": "true", "PARLEY_WEBHOOK_CACHE_SECONDS": "1"}
                if options["second_wave"]
                else {}
            )
            with BenchServer(
                production=options["production"], processes=options["processes"], extra_env=extra_env
            ) as server:
                log(f"started {len(server.urls)} server process(es) {server.pids} at {', '.join(server.urls)}")
                try:
                    report = asyncio.run(runner.run(server.urls, server.run_setup, bench_options, log))
                except Exception as exc:
                    raise CommandError(f"{exc}\n--- server log ---\n{server.log()}") from exc
                report["server"]["mode"] = "production" if server.production else "embedded"
                report["server"]["database"] = "postgresql" if server.production else "sqlite"
                report["server"]["channel_layer"] = "redis-pubsub" if server.production else "in-memory"
        self.stdout.write(runner.table(report))
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(report, indent=2) + "\n")
