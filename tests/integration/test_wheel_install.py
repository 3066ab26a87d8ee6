"""A wheel that works: built from this tree, installed in a fresh venv, used from a folder outside the tree.

The venv gets the wheel alone (`--no-deps`); torch, transformers and the rest resolve from the test's own
environment through a `.pth` line appended after the venv's site-packages, so the installed khabar comes first
and the checkout is never on the path. About a minute on 2 CPU cores, most of it the tiny training.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from khabar import __version__

REPO = Path(__file__).resolve().parents[2]
TOP_LEVEL_FILES = ("pyproject.toml", "README.md", "LICENSE")
QUICK = ["--set", "training.epochs=1", "--set", "data.max_train_examples=8", "--set", "data.max_eval_examples=4"]
ARTICLE = "زار الرئيس المصري مدينة القاهرة يوم الاثنين والتقى وزير الخارجية.\n"


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = result.stdout[-2000:] + result.stderr[-4000:]
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{output}"
    return result


def _build_wheel(work: Path) -> Path:
    """Build from a copy of the tree, so the checkout's build/ and egg-info stay untouched."""
    source = work / "source"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in TOP_LEVEL_FILES:
        shutil.copy2(REPO / name, source / name)
    # No build isolation: the test environment's setuptools builds it, and nothing is downloaded.
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "--wheel-dir", str(work / "dist"), str(source)], work, os.environ.copy())
    (wheel,) = (work / "dist").glob("khabar-*.whl")
    return wheel


@dataclass(frozen=True)
class Installed:
    venv: Path
    site_packages: Path
    folder: Path  # an empty working folder outside the tree
    env: dict[str, str]

    def command(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def _fresh_venv(work: Path, wheel: Path) -> tuple[Path, Path]:
    """A venv holding only the wheel, with this environment's site-packages after its own for the dependencies."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
          str(wheel)], work, os.environ.copy())
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # A plain path line: the directory is appended to sys.path, its own .pth files (the editable
    # install's pointer to this checkout among them) are not read.
    (Path(purelib) / "khabar_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return venv, Path(purelib)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, offline_backbone: Path) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    venv, site_packages = _fresh_venv(work, _build_wheel(work))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    folder = work / "user"
    folder.mkdir()
    return Installed(venv, site_packages, folder, env)


def test_the_installed_package_is_used_and_ships_its_configs(installed: Installed):
    code = ("import json, khabar, khabar.training.config as c; "
            "print(json.dumps([khabar.__file__, str(c.PACKAGED_CONFIGS), c.packaged_config_names()]))")
    output = _run([installed.command("python"), "-c", code], installed.folder, installed.env).stdout
    module, configs, names = json.loads(output)
    assert Path(module) == installed.site_packages / "khabar" / "__init__.py"
    assert Path(configs) == installed.site_packages / "khabar" / "configs"
    assert (Path(configs) / "accelerate" / "cpu.yaml").is_file()
    assert {"ner/tiny", "ner/anercorp-offline", "topics/tiny", "topics/quickstart"} <= set(names)
    version = _run([installed.command("khabar"), "--version"], installed.folder, installed.env).stdout
    assert version == f"khabar {__version__}\n"
    usage = _run([installed.command("khabar"), "quickstart", "--help"], installed.folder, installed.env).stdout
    assert usage.startswith("usage: khabar quickstart")


def test_an_unknown_config_name_is_one_error_line_from_the_wheel(installed: Installed):
    result = subprocess.run([installed.command("khabar"), "train", "ner", "--config", "ner/nope"],
                            cwd=installed.folder, env=installed.env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.startswith("error: config 'ner/nope' is neither a file nor a packaged config")
    assert "ner/tiny" in result.stderr and "Traceback" not in result.stderr


def test_accelerate_launch_trains_from_the_wheel_and_khabar_analyze_reads_the_run(installed: Installed):
    """`accelerate launch -m khabar.cli train ner --config ner/tiny` with the wheel's accelerate config."""
    folder, env = installed.folder, installed.env
    cpu_config = installed.site_packages / "khabar" / "configs" / "accelerate" / "cpu.yaml"
    launch = [installed.command("python"), "-m", "accelerate.commands.launch", "--config_file", str(cpu_config),
              "-m", "khabar.cli"]
    _run([*launch, "train", "ner", "--config", "ner/tiny", *QUICK, "--output", "run"], folder, env)
    assert (folder / "run" / "best" / "khabar.json").is_file()
    (folder / "article.txt").write_text(ARTICLE, encoding="utf-8")
    result = _run([installed.command("khabar"), "analyze", "--ner", "run", "article.txt"], folder, env)
    (document,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert document["text"] == ARTICLE and isinstance(document["entities"], list)


def test_the_wheel_ships_the_proclitic_lexicon(installed: Installed):
    """Splitting proclitics needs the packaged lexicon: read from site-packages, not from a source checkout."""
    code = ("from khabar.text.clitics import LEXICON_PATH, ProcliticReader; r = ProcliticReader.packaged(); "
            "print(LEXICON_PATH); print(r.read('والصين').stem, r.read('وليد').stem, r.read('وكيشيدا').stem)")
    result = _run([installed.command("python"), "-c", code], installed.folder, installed.env)
    path, stems = result.stdout.strip().splitlines()
    assert Path(path).is_relative_to(installed.site_packages)
    assert stems == "الصين وليد كيشيدا"
