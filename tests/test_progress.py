"""The progress bar's rate and time left, and log lines printed above it rather than through it."""

from __future__ import annotations

import io
import logging
import sys

import rich
from rich.file_proxy import FileProxy

from style_gan.run.progress import BatchBudgetBar, BatchRate, rate_text
from tests.conftest import bare_trainer


def test_the_rate_counts_this_processs_batches_from_the_start_of_training() -> None:
    rate = BatchRate()
    assert rate.per_second(now=5.0) is None and rate.seconds_left(10, now=5.0) is None
    rate.start(done=100, now=0.0)  # resumed after 100 batches: they took no time here
    assert rate.per_second(now=5.0) is None  # no batch done yet: unknown, not 0
    rate.update(110)
    assert rate.per_second(now=20.0) == 0.5
    assert rate.seconds_left(190, now=20.0) == 380.0
    assert rate.elapsed(now=20.0) == 20.0


def test_slow_rates_read_as_seconds_a_batch() -> None:
    assert rate_text(None) == "-.--it/s"
    assert rate_text(4.0) == "4.00it/s"
    assert rate_text(0.05) == "20.00s/it"


def test_console_log_lines_print_above_the_bar_while_it_is_shown() -> None:
    handler = logging.StreamHandler(sys.stdout)
    logging.getLogger().addHandler(handler)
    bar = BatchBudgetBar(console_kwargs={"force_terminal": True, "file": io.StringIO()})
    try:
        bar._init_progress(bare_trainer(train_batches=1, val_batches=0))
        # rich's proxy of stdout prints a line above the live bar; the stream the handler
        # was configured with would draw it through the bar.
        assert isinstance(handler.stream, FileProxy) and handler.stream is sys.stdout
        stream = handler.stream.rich_proxied_file
        bar._stop_progress()
        assert handler.stream is stream
    finally:
        bar._stop_progress()
        logging.getLogger().removeHandler(handler)
        rich.reconfigure()  # the global console the bar set up writes to its StringIO
