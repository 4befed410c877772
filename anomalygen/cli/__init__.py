"""Command line: thin click commands; the work happens in the modules they call.

:mod:`.app` holds the group (``main``) and the helpers, :mod:`.generator_commands` and
:mod:`.detector_commands` the commands, which register on ``main`` when imported here.
"""

from anomalygen.cli.app import main
from anomalygen.cli import detector_commands, generator_commands  # noqa: F401, E402  (registers the commands)

__all__ = ["main"]
