"""robustbench-ft: a fair harness for robust fine-tuning of zero-shot CLIP models.

One trainer, one evaluator and one record format for every method (methods/), benchmark
(data/) and model (models/); `robustbench-ft --help` lists the verbs. Importing the package is
cheap: torch and open_clip load only with the modules that need them.
"""

__version__ = "0.1.0"
