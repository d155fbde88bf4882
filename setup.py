"""Packaging for tb-featureviz: the library, its TensorBoard plugin and the panel files."""

import re

from setuptools import find_packages, setup

# The version has one owner: tb_featureviz/__init__.py.
with open("tb_featureviz/__init__.py", encoding="utf-8") as init:
    VERSION = re.search(r'^__version__ = "([^"]+)"', init.read(), re.M).group(1)

setup(
    name="tb-featureviz",
    version=VERSION,
    description=(
        "See inside a CNN while it trains: filter and feature-map grids in TensorBoard, "
        "with a Feature maps panel."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["tb_featureviz", "tb_featureviz.*"]) + ["tb_featureviz.frontend"],
    # The panel lives at the repository root (frontend/) but ships inside the
    # package, so a wheel install can serve it.
    package_dir={"tb_featureviz.frontend": "frontend"},
    package_data={
        "tb_featureviz": ["data/*.png", "data/*.md"],
        "tb_featureviz.frontend": ["*.js", "*.css", "*.html", "*.svg"],
    },
    install_requires=[
        "numpy>=1.23",
        "pillow>=9.1",
        # ISA-L's deflate encodes grid PNGs several times faster than zlib;
        # tb_featureviz.render.png falls back to zlib where it is missing.
        "isal>=1.6",
        "tensorboard>=2.16",
        # Event files are written without TensorFlow; the CRC32C of every
        # record runs in this package's C code (pure Python: ~5 MB/s).
        "google-crc32c>=1.5",
    ],
    extras_require={
        # One extra per Keras backend, for the side that writes logs (the
        # logger, the callback, the CLI). The plugin side needs none of them:
        # it runs in a TensorBoard without TensorFlow, JAX or PyTorch.
        "tensorflow": ["tensorflow>=2.16", "keras>=3.0"],
        "tf": ["tensorflow>=2.16", "keras>=3.0"],  # the old name of [tensorflow]
        "jax": ["jax>=0.4.20", "keras>=3.0"],
        # pip takes the newest torch the range allows; for a CPU-only
        # machine install the CPU build first (see the README, "Backends").
        "torch": ["torch>=2.1", "keras>=3.0"],
        # Log directories given as URLs (gs://, s3://, ...) where TensorFlow
        # is not installed; add the file system's package (gcsfs, s3fs, ...).
        "remote": ["fsspec>=2023.1"],
        # Everything the whole suite needs, TensorFlow (the default backend)
        # and the browser tests included.
        "test": [
            "tensorflow>=2.16",
            "keras>=3.0",
            "pytest>=7",
            "werkzeug>=2",
            "playwright>=1.40",
            "fsspec>=2023.1",
        ],
        # The test tools alone, no backend and no browser: combine with
        # [jax] or [torch] for the per-backend suites, which run where
        # TensorFlow is not installed.
        "test-backend": ["pytest>=7", "fsspec>=2023.1"],
    },
    entry_points={
        "console_scripts": ["tb-featureviz=tb_featureviz.cli:main"],
        "tensorboard_plugins": ["featureviz=tb_featureviz.plugin.loader:FeatureVizLoader"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: TensorFlow",
        "Topic :: Scientific/Engineering :: Visualization",
    ],
)
