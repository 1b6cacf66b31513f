import os

# Qt without a display: the editor's tests run offscreen (set before anything imports Qt).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default="cpu",
        help="device for the engine's model tests: cpu (default), cuda, mps or auto (see engine.testing.device_under_test)",
    )


def pytest_configure(config):
    # An environment variable rather than a fixture: module-level helpers and the training
    # subprocesses of the tests see it too.
    os.environ["LATENT_STUDIO_TEST_DEVICE"] = config.getoption("--device")
