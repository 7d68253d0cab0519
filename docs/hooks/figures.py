"""An mkdocs hook: serve the repository's figures on the documentation site: the README's
(``figures/``) and the studies' (``experiments/<study>/results/``).

The pages link a figure as ``../figures/NAME.png`` or
``../experiments/<study>/results/NAME.png``, paths that also work on a source browser from
``docs/``. mkdocs resolves such a link to that source path relative to ``docs/``; this hook
registers each image under exactly that source path and copies it to the same path below the
site's root (without the ``../``), so the link resolves and a missing figure still fails the
strict build.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files, InclusionLevel

IMAGE_SUFFIXES = (".png", ".svg", ".jpg")
#: The folders beside docs/ whose images the pages may show.
IMAGE_ROOTS = ("figures", "experiments")


def on_files(files: Files, config) -> Files:
    docs_dir = Path(config["docs_dir"])
    for root in IMAGE_ROOTS:
        _add_images(files, config, docs_dir.parent, root)
    return files


def _add_images(files: Files, config, repo: Path, root: str) -> None:
    docs_dir = Path(config["docs_dir"])
    for path in sorted((repo / root).rglob("*")):
        if path.suffix not in IMAGE_SUFFIXES:
            continue
        rel = path.relative_to(repo).as_posix()
        files.append(
            File(
                f"../{rel}",
                src_dir=str(docs_dir),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
                dest_uri=rel,
                # explicit: mkdocs' default exclusion of dot-paths would match the "../"
                inclusion=InclusionLevel.INCLUDED,
            )
        )
