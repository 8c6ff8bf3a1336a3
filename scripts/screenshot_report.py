"""Screenshot the reports the workflow made, in headless Chromium, for the README and docs/.

Usage (after README command 1, ``snakemake --cores 2``, has filled ``results/``)::

    python scripts/screenshot_report.py            # docs/report-screenshot.png + docs/screenshots/*.png
    python scripts/screenshot_report.py --motifs   # also the motif section of the REST tfbind report

The README screenshot is the top of ``results/REST/tfbind/eval/report.html`` at 1400 px; the pages in
``docs/screenshots/`` are whole pages at 1400 px and 800 px wide (a laptop and a narrow window), so a
reader sees what the tool makes today, not a mock-up.  Needs ``chromium`` (Debian: ``apt-get install -y
chromium``) and Pillow.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {  # name -> page under results/, and the widths to shoot it at
    "rest-tfbind": ("REST/tfbind/eval/report.html", (1400, 800)),
    "wheat-snp-cnn": ("wheat/snp-cnn/eval/report.html", (1400,)),
    "zou2019": ("zou2019/zou2019/eval/report.html", (1400,)),
    "summary": ("summary.html", (1400, 800)),
}
README_SHOT = ROOT / "docs" / "report-screenshot.png"
MAX_HEIGHT = 16_000


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    sys.exit("screenshot_report: no chromium on PATH (Debian: apt-get install -y chromium)")


def shoot(page: Path, png: Path, width: int, height: int = MAX_HEIGHT) -> None:
    """A screenshot of ``page`` at ``width`` px, trimmed below the page's last non-background row."""
    from PIL import Image, ImageChops

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.png"
        subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp}/profile", f"--window-size={width},{height}", f"--screenshot={raw}",
             page.resolve().as_uri()],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        image = Image.open(raw).convert("RGB")
    background = Image.new("RGB", image.size, image.getpixel((2, image.height - 2)))
    box = ImageChops.difference(image, background).getbbox()
    if box:
        image = image.crop((0, 0, image.width, min(image.height, box[3] + 24)))
    png.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours: a report page is flat colours and text, so this keeps it sharp at a third the size
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)


def motif_report(results: Path, out: Path) -> Path:
    """The REST tfbind report with its motif section (dnacnn motifs, then evaluate --motifs)."""
    model, store = results / "REST/tfbind/model.dnacnn", results / "REST/store"
    subprocess.run(["dnacnn", "motifs", str(model), str(store), "-o", str(out / "motifs")], check=True)
    subprocess.run(
        ["dnacnn", "evaluate", str(model), str(results / "REST/test_store"), "--split", "all",
         "--motifs", str(out / "motifs"), "-o", str(out / "eval")],
        check=True,
    )  # fmt: skip
    return out / "eval" / "report.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results", help="the workflow's results folder")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder of the page shots")
    parser.add_argument("--motifs", action="store_true", help="also shoot the REST report's motif section")
    args = parser.parse_args()
    missing = [p for p, _ in PAGES.values() if not (args.results / p).is_file()]
    if missing:
        sys.exit(f"screenshot_report: {args.results / missing[0]} not found; run 'snakemake --cores 2' first")
    for name, (page, widths) in PAGES.items():
        for width in widths:
            shoot(args.results / page, args.out / f"{name}-{width}.png", width)
            print(f"wrote {args.out / f'{name}-{width}.png'}")
    shoot(args.results / PAGES["rest-tfbind"][0], README_SHOT, 1400, height=1500)
    print(f"wrote {README_SHOT}")
    if args.motifs:
        with tempfile.TemporaryDirectory() as tmp:
            shoot(motif_report(args.results, Path(tmp)), args.out / "rest-tfbind-motifs-1400.png", 1400)
        print(f"wrote {args.out / 'rest-tfbind-motifs-1400.png'}")


if __name__ == "__main__":
    main()
