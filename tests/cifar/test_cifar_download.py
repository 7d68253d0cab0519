"""`cifar-download` against a loopback HTTP server serving a generated archive (no internet)."""

import hashlib
import http.server
import tarfile
import threading

import pytest
from typer.testing import CliRunner

from multiview.cifar.data import load_cifar
from multiview.cifar.download import download_cifar
from multiview.cifar.fixtures import write_cifar10_pickles
from multiview.cli import app
from multiview.errors import ConfigError, DataError


@pytest.fixture()
def server(tmp_path):
    src = write_cifar10_pickles(tmp_path / "src", per_batch=10, n_test=10)
    archive = tmp_path / "www" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname="cifar-10-batches-py")
    md5 = hashlib.md5(archive.read_bytes(), usedforsecurity=False).hexdigest()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(archive.parent), **k)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{archive.name}", md5
    httpd.shutdown()
    httpd.server_close()


def test_download_checks_md5_and_unpacks(server, tmp_path):
    url, md5 = server
    path = download_cifar("cifar10", tmp_path / "dl", url=url, md5=md5)
    assert path.name == "cifar-10-batches-py"
    assert load_cifar(path, use_cache=False).train_x.shape == (50, 32, 32, 3)
    assert download_cifar("cifar10", tmp_path / "dl", url=url, md5=md5) == path  # no refetch
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["cifar-10-batches-py"]


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    url, _ = server
    with pytest.raises(DataError, match="checksum mismatch"):
        download_cifar("cifar10", tmp_path / "dl", url=url, md5="0" * 32)
    assert list((tmp_path / "dl").iterdir()) == []


def test_unreachable_url_is_a_clear_error(server, tmp_path):
    url, md5 = server
    with pytest.raises(DataError, match="could not download"):
        download_cifar("cifar10", tmp_path / "dl", url=url + ".missing", md5=md5, timeout=5)


def test_download_command(server, tmp_path):
    url, md5 = server
    res = CliRunner().invoke(
        app, ["cifar-download", "--dest", str(tmp_path / "d"), "--url", url, "--md5", md5]
    )
    assert res.exit_code == 0, res.output
    assert "cifar-10-batches-py" in res.output
    res = CliRunner().invoke(app, ["cifar-download", "--url", url])
    assert res.exit_code == ConfigError.exit_code and "--md5" in res.output
    with pytest.raises(ConfigError):
        download_cifar("imagenet", tmp_path)
