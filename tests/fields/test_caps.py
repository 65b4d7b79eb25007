from secengine.fields.caps import CAP_NAMES, render_caps


def test_caps_render_in_bit_order() -> None:
    assert render_caps(0) == ""
    assert render_caps(1 | 2) == "CAP_CHOWN CAP_DAC_OVERRIDE"
    assert render_caps(1 << 16) == "CAP_SYS_MODULE"
    assert render_caps((1 << len(CAP_NAMES)) - 1).split() == list(CAP_NAMES)
