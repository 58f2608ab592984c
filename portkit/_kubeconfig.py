"""Load one kubeconfig context into a ``kubernetes.client.Configuration``, exec plugins failing loudly.

The kubernetes client's loader (merging of ``$KUBECONFIG`` files, relative paths, auth providers,
tokens, client certificates, proxy-url) is used as it is, with one difference: when the user's
``exec`` credential plugin fails, the kubernetes client logs the error and goes on without credentials
(requests then go out unauthenticated). Here the failure is a :class:`ConfigurationError` that names the
plugin's command, its exit code and the end of its stderr (never its arguments or environment, which
may hold secrets), both when the kubeconfig is loaded and when an expired credential is refreshed.
"""

from __future__ import annotations

import copy
import importlib
import re
import warnings
from collections.abc import Mapping
from typing import Any

from portkit.errors import ConfigurationError

__all__ = ["load_configuration", "load_configuration_dict"]

_STDERR_LIMIT = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # one word of visible ASCII: nothing that could end a header line


def _clean(text: str, limit: int = _STDERR_LIMIT) -> str:
    """One line of at most ``limit`` characters, no control characters (it reaches a terminal)."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else "..." + text[-(limit - 3) :]


def _plugin_error(command: str, user: str, what: str, hint: str | None = None) -> ConfigurationError:
    return ConfigurationError(
        f"The exec credential plugin {command!r} of kubeconfig user {user!r} failed: {what}.",
        hint=hint
        or "Run the plugin by hand to see what it needs (a login, an installed tool, network access), "
        "or fix users[].user.exec in the kubeconfig. No request was sent without credentials.",
    )


def _run_plugin(exec_config: Any, cwd: str | None, cluster: Any, user: str) -> dict[str, Any]:
    """Run the plugin like the kubernetes client does; return its ExecCredential ``status``."""
    config_exception: Any = importlib.import_module("kubernetes.config.config_exception")
    exec_provider: Any = importlib.import_module("kubernetes.config.exec_provider")
    ConfigException = config_exception.ConfigException
    ExecProvider = exec_provider.ExecProvider

    command = str(exec_config.safe_get("command") or "") if hasattr(exec_config, "safe_get") else ""
    try:
        status = ExecProvider(exec_config, cwd, cluster).run()
    except FileNotFoundError:
        hint = exec_config.safe_get("installHint") if hasattr(exec_config, "safe_get") else None
        raise _plugin_error(
            command,
            user,
            "the command was not found",
            hint=_clean(str(hint), 400) if hint else "Install it, or fix users[].user.exec.command in the kubeconfig.",
        ) from None
    except OSError as exc:
        raise _plugin_error(command, user, f"it could not be started ({exc.strerror or type(exc).__name__})") from None
    except ConfigException as exc:
        text = str(exc)
        match = re.match(r"exec: process returned (-?\d+)\.?\s*(.*)", text, re.DOTALL)
        if match:
            detail = f"exit code {match.group(1)}"
            stderr = _clean(match.group(2))
            raise _plugin_error(command, user, detail + (f"; its stderr ends: {stderr}" if stderr else "")) from None
        raise _plugin_error(command, user, _clean(text.removeprefix("exec: "))) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a malformed exec section or answer
        raise _plugin_error(command, user, f"malformed exec configuration or answer ({type(exc).__name__})") from None
    if not isinstance(status, dict):
        raise _plugin_error(command, user, "its ExecCredential has no status object")
    return status


def _loader_class() -> type:
    kube_config: Any = importlib.import_module("kubernetes.config.kube_config")
    FileOrData = kube_config.FileOrData
    parse_rfc3339 = kube_config.parse_rfc3339

    class Loader(kube_config.KubeConfigLoader):  # type: ignore[misc]
        """The kubernetes client's loader whose exec plugin step raises instead of logging."""

        def _load_from_exec_plugin(self) -> bool | None:
            if "exec" not in self._user:
                return None
            user = str(self._current_context["context"].safe_get("user") or "")
            exec_config = self._user["exec"]
            base_path = self._get_base_path(self._cluster.path)
            command = str(exec_config.safe_get("command") or "")
            status = _run_plugin(exec_config, base_path, self._cluster, user)
            token = status.get("token")
            if token is not None:
                if not isinstance(token, str) or not _TOKEN.fullmatch(token):
                    raise _plugin_error(command, user, "it returned a token that is empty or not one line of text")
                self.token = f"Bearer {token}"
            elif "clientCertificateData" in status:
                if not isinstance(status.get("clientKeyData"), str) or not isinstance(
                    status.get("clientCertificateData"), str
                ):
                    raise _plugin_error(command, user, "it returned a client certificate without its key")
                self.cert_file = FileOrData(
                    status,
                    None,
                    data_key_name="clientCertificateData",
                    file_base_path=base_path,
                    base64_file_content=False,
                    temp_file_path=self._temp_file_path,
                ).as_file()
                self.key_file = FileOrData(
                    status,
                    None,
                    data_key_name="clientKeyData",
                    file_base_path=base_path,
                    base64_file_content=False,
                    temp_file_path=self._temp_file_path,
                ).as_file()
            else:
                raise _plugin_error(command, user, "its ExecCredential status has neither a token nor a certificate")
            expiry = status.get("expirationTimestamp")
            if expiry:
                try:
                    self.expiry = parse_rfc3339(expiry)
                except (TypeError, ValueError, AttributeError):
                    raise _plugin_error(command, user, "its expirationTimestamp is not a timestamp") from None
            return True

    return Loader


def load_configuration(config_file: str, context: str | None) -> tuple[Any, str]:
    """A fresh ``kubernetes.client.Configuration`` for ``context`` (or the current one) and the context name.

    Raises:
        ConfigurationError: the kubeconfig cannot be used (including a failing exec credential plugin).
    """
    with warnings.catch_warnings():  # imported lazily (slow); its optional SOCKS import warns
        warnings.simplefilter("ignore")
        client: Any = importlib.import_module("kubernetes.client")
        kube_config: Any = importlib.import_module("kubernetes.config.kube_config")

    configuration = client.Configuration()
    merged = kube_config.KubeConfigMerger(config_file)
    if merged.config is None:
        raise ConfigurationError(
            f"Cannot use kubeconfig {config_file}: no configuration found in it.",
            hint="Check the file with `kubectl config view`.",
        )
    loader = _loader_class()(config_dict=merged.config, config_base_path=None, active_context=context)
    loader.load_and_set(configuration)
    current = loader.current_context or {}
    return configuration, str(context or current.get("name", "") or "")


def load_configuration_dict(config: Mapping[str, Any], context: str | None) -> tuple[Any, str]:
    """As :func:`load_configuration`, for a kubeconfig given as a dict (a deep copy is loaded: ``config`` is
    neither changed nor kept). Relative file paths in it are relative to the current directory.

    Raises:
        ConfigurationError: a failing exec credential plugin (other problems raise the loader's exceptions).
    """
    with warnings.catch_warnings():  # imported lazily (slow); its optional SOCKS import warns
        warnings.simplefilter("ignore")
        client: Any = importlib.import_module("kubernetes.client")

    configuration = client.Configuration()
    loader = _loader_class()(config_dict=copy.deepcopy(dict(config)), config_base_path=None, active_context=context)
    loader.load_and_set(configuration)
    current = loader.current_context or {}
    return configuration, str(context or current.get("name", "") or "")
