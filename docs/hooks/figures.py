"""An mkdocs hook: serve the repository's ``figures/`` images on the documentation site.

The pages link a figure as ``../figures/NAME.png``, a path that also works on a source
browser from ``docs/``. mkdocs resolves such a link to the source path ``../figures/NAME.png``
relative to ``docs/``; this hook registers each image under exactly that source path and
copies it to ``figures/NAME.png`` on the site, so the link resolves and a missing figure
still fails the strict build.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files, InclusionLevel

IMAGE_SUFFIXES = (".png", ".svg", ".jpg")


def on_files(files: Files, config) -> Files:
    docs_dir = Path(config["docs_dir"])
    figures = docs_dir.parent / "figures"
    for path in sorted(figures.rglob("*")):
        if path.suffix not in IMAGE_SUFFIXES:
            continue
        rel = path.relative_to(figures).as_posix()
        files.append(
            File(
                f"../figures/{rel}",
                src_dir=str(docs_dir),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
                dest_uri=f"figures/{rel}",
                # explicit: mkdocs' default exclusion of dot-paths would match the "../"
                inclusion=InclusionLevel.INCLUDED,
            )
        )
    return files
