"""The analysis report that the ``jaxgan`` command writes: for each game and algorithm, the
field spectrum at the equilibrium, a stability map over (learning rate, the algorithm's
hyperparameter) next to a sweep of the same grid, and Turinici's learning-rate
refinement verdict; STON'R on the box-constrained games. Results go to a folder as
``report.md``, ``report.json`` and one PNG figure per game.

The package: ``_registry`` (algorithms and games), ``_analysis`` (the numbers),
``_render`` (JSON, table, markdown, figures), ``_progress`` (the progress line),
``_profile`` (``--profile``'s phases) and ``_run`` (workers and the output folder).
"""

from ._analysis import MARGIN as MARGIN
from ._analysis import analyse_algorithm as analyse_algorithm
from ._analysis import analyse_game as analyse_game
from ._analysis import analyse_pair as analyse_pair
from ._analysis import measured_rates as measured_rates
from ._analysis import record_every as record_every
from ._analysis import stonr_section as stonr_section
from ._profile import table as profile_table
from ._progress import Progress as Progress
from ._registry import N_PLAYER_GAMES as N_PLAYER_GAMES
from ._registry import Algorithm as Algorithm
from ._registry import builtin_algorithms as builtin_algorithms
from ._registry import builtin_games as builtin_games
from ._registry import default_games as default_games
from ._registry import load_game_file as load_game_file
from ._registry import n_player_form as n_player_form
from ._render import markdown as markdown
from ._render import strict_json as strict_json
from ._render import table_rows as table_rows
from ._run import check_output_folder as check_output_folder
from ._run import enable_compile_cache as enable_compile_cache
from ._run import run_report as run_report

__all__ = [
    "MARGIN",
    "Algorithm",
    "Progress",
    "analyse_algorithm",
    "analyse_pair",
    "default_games",
    "n_player_form",
    "N_PLAYER_GAMES",
    "analyse_game",
    "builtin_algorithms",
    "builtin_games",
    "check_output_folder",
    "enable_compile_cache",
    "load_game_file",
    "markdown",
    "profile_table",
    "measured_rates",
    "record_every",
    "run_report",
    "stonr_section",
    "strict_json",
    "table_rows",
]
