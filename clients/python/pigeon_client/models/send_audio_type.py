from typing import Literal

SendAudioType = Literal["audio"]

SEND_AUDIO_TYPE_VALUES: set[SendAudioType] = {
    "audio",
}


def check_send_audio_type(value: str) -> SendAudioType:
    if value in SEND_AUDIO_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_AUDIO_TYPE_VALUES!r}")
