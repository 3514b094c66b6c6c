"""Everything is declared in setup.cfg (the metric cards included, as package data), except the one mapping it cannot express.

The ``evaluate`` metric modules live at the top of the repository (``metrics/stereotype_bias``), so that
``evaluate.load("metrics/stereotype_bias")`` works from a checkout as users of ``evaluate`` expect. They are shipped in
the wheel as ``geounlearn_trl/metrics/<name>/`` so that an installed ``geounlearn-trl score`` finds them too.
"""

from setuptools import find_packages, setup

METRICS = ["stereotype_bias"]

setup(
    packages=find_packages(include=["geounlearn_trl*"]) + [f"geounlearn_trl.metrics.{name}" for name in METRICS],
    package_dir={f"geounlearn_trl.metrics.{name}": f"metrics/{name}" for name in METRICS},
)
