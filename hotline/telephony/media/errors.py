"""The media errors of the catalogue: what the call layer can meet when it drives the engine."""

from __future__ import annotations

from hotline.core.errors import HotlineError


class MediaError(HotlineError):
    """A media command could not be carried out."""

    code = "media_error"
    http_status = 502


class EndpointNotFound(MediaError):
    """The endpoint was released, or its worker was lost."""

    code = "media_endpoint_not_found"
    http_status = 404


class PromptUnavailable(MediaError):
    """A prompt file is missing or not in a playable format (8 kHz mono 16-bit PCM, .ul, .al)."""

    code = "media_prompt_unavailable"
    http_status = 422


class NoMediaPorts(MediaError):
    """Every RTP port of the worker's range is in use."""

    code = "media_no_ports"
    http_status = 503


class WebRtcOfferRejected(MediaError):
    """A browser's SDP offer that cannot be answered: malformed, without G.711 audio, or with
    other streams than one audio stream."""

    code = "media_webrtc_offer_rejected"
    http_status = 422


class MediaWorkerLost(MediaError):
    """The worker carrying the endpoint ended before it answered."""

    code = "media_worker_lost"
    http_status = 503


class MediaTimeout(MediaError):
    """The worker did not answer in time."""

    code = "media_timeout"
    http_status = 504


ERRORS: dict[str, type[MediaError]] = {
    cls.code: cls
    for cls in (
        MediaError,
        EndpointNotFound,
        PromptUnavailable,
        NoMediaPorts,
        WebRtcOfferRejected,
        MediaWorkerLost,
        MediaTimeout,
    )
}


def error_from_code(code: str, message: str) -> MediaError:
    """Rebuild, in the control process, the error a worker reported."""
    return ERRORS.get(code, MediaError)(message)
