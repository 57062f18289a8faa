"""Build the sipdialog._core extension from the C core in csrc/.

Warnings are errors when SIPDIALOG_WERROR=1 (CI and development builds);
plain installs keep -Wall -Wextra without -Werror so that a newer compiler's
new warning never breaks `pip install`.  CC=clang builds with clang.
"""
import glob
import os

from setuptools import Extension, setup

sources = sorted(
    glob.glob("csrc/base/*.c")
    + glob.glob("csrc/msg/*.c")
    + glob.glob("csrc/validate/*.c")
    + glob.glob("csrc/dialog/*.c")
    + glob.glob("csrc/store/*.c")
    + glob.glob("csrc/py/*.c")
)
flags = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wshadow", "-Wstrict-prototypes",
         "-fvisibility=hidden", "-D_GNU_SOURCE"]
if os.environ.get("SIPDIALOG_WERROR") == "1":
    flags.append("-Werror")

setup(
    ext_modules=[
        Extension(
            "sipdialog._core",
            sources=sources,
            include_dirs=["csrc/include", "csrc"],
            extra_compile_args=flags,
            depends=sorted(glob.glob("csrc/**/*.h", recursive=True)),
        )
    ],
)
