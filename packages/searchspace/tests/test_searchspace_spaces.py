import json
import subprocess
import sys

import numpy as np
import pytest

from jaxnas.searchspace import (REFERENCE_NAMES, Activation, Block, Conv, GlobalPool, OneOf, Space,
                                count_macs, count_params, get_space, list_spaces, reference_arch,
                                reference_spaces, register_space)
from jaxnas.searchspace._references import PROXYLESSNAS_MOBILE_TUNAS

SEARCHABLE = ["proxylessnas", "proxylessnas_enlarged", "mobilenet_v3_like"]


@pytest.mark.parametrize("name, decisions, log10_size", [
    ("proxylessnas", 73, 21.33), ("proxylessnas_enlarged", 73, 28.14), ("mobilenet_v3_like", 86, 42.93),
])
def test_decision_counts_and_sizes(name, decisions, log10_size):
    space = get_space(name)
    assert space.num_decisions == decisions
    assert round(space.log10_size, 2) == log10_size
    assert space.log10_distinct < space.log10_size


def test_distinct_count_by_hand():
    # proxylessnas: 15 skippable layers of 3*2 + 1 = 7 networks, 6 fixed layers of 3*2, a sepconv of 3.
    expected = 15 * np.log10(7) + 6 * np.log10(6) + np.log10(3)
    assert get_space("proxylessnas").log10_distinct == pytest.approx(expected)


@pytest.mark.parametrize("name, params, mmacs", [
    ("proxylessnas_mobile", 4_080_512, 320.4), ("mobilenet_v2", 3_504_872, 300.8),
    ("mnasnet_b1", 4_383_312, 314.4), ("mobilenet_v3_large", 5_483_032, 216.6),
])
def test_reference_params_and_macs_in_every_space_that_holds_them(name, params, mmacs):
    for space_name in reference_spaces(name):
        space = get_space(space_name)
        arch = reference_arch(name, space_name)
        assert int(count_params(space, arch)) == params, space_name
        assert round(int(count_macs(space, arch)) / 1e6, 1) == mmacs, space_name


def test_proxylessnas_mobile_is_the_tunas_index_string():
    assert reference_arch("proxylessnas_mobile") == PROXYLESSNAS_MOBILE_TUNAS
    assert reference_arch("proxylessnas_mobile", "proxylessnas") == PROXYLESSNAS_MOBILE_TUNAS


def test_tunas_decision_order_inside_a_layer():
    paths = [d.path for d in get_space("mobilenet_v3_like").decisions]
    assert paths[:4] == ["block0/layer0/kernel", "block0/layer2/kernel", "block0/layer2/op", "block0/width"]
    assert paths[4:8] == ["block1/layer0/kernel", "block1/layer0/expansion", "block1/layer0/se",
                          "block1/layer1/kernel"]
    assert paths[-2:] == ["block6/width", "block7/width"]


def test_enlarged_widths():
    space = get_space("proxylessnas_enlarged")
    widths = [d.choices for d in space.decisions if d.kind == "width"]
    assert widths[0] == widths[1] == widths[2] == (8, 16, 24, 32)
    assert widths[3] == (16, 24, 32, 40, 48, 64)
    assert widths[7] == (256, 320, 384, 512, 640, 768, 1024)
    assert widths[8] == (512, 640, 768, 1024, 1280, 1536, 2048)


def test_dependencies_point_to_the_skip_decision():
    space = get_space("proxylessnas")
    kernel = space.decisions[space.decision_index["block2/layer1/kernel"]]
    skip = space.decisions[space.decision_index["block2/layer1/op"]]
    assert kernel.parent == skip.index and kernel.parent_choice == 0
    assert skip.choices == ("bottleneck", "zero") and skip.parent == -1
    assert space.decisions[space.decision_index["block2/width"]].parent == -1


def test_registry_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown space 'nope'; known spaces: .*proxylessnas"):
        get_space("nope")
    assert set(SEARCHABLE) <= set(list_spaces())


def test_register_a_space_of_your_own():
    def factory():
        return Space("test_tiny_registry", (
            Block([Conv(OneOf((3, 5)), 2), Activation("relu"), GlobalPool()], OneOf((8, 16), "filters")),))
    register_space("test_tiny_registry", factory)
    space = get_space("test_tiny_registry")
    assert space.num_decisions == 2
    assert int(count_params(space, "1:1", num_classes=10)) == 5 * 5 * 3 * 16 + 2 * 16 + 16 * 10 + 10
    with pytest.raises(ValueError, match="already registered"):
        register_space("test_tiny_registry", factory)


def test_unknown_reference_and_wrong_space():
    with pytest.raises(ValueError, match="unknown reference network 'resnet'; known: mobilenet_v2"):
        reference_arch("resnet")
    with pytest.raises(ValueError, match="not a point of space 'mobilenet_v3_like'"):
        reference_arch("mobilenet_v2", "mobilenet_v3_like")
    assert set(REFERENCE_NAMES) == {"mobilenet_v2", "mnasnet_b1", "proxylessnas_mobile", "mobilenet_v3_large"}


def test_spaces_are_hashable_comparable_and_json_round_trip():
    from jaxnas.searchspace import space_from_json
    for name in list_spaces():
        space = get_space(name)
        again = space_from_json(space.spec_json())
        assert again == space and hash(again) == hash(space)
        assert again.decisions == space.decisions
        json.loads(space.spec_json())


def test_importing_searchspace_does_not_import_jax():
    code = "import sys, jaxnas.searchspace; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_feature_maps_take_the_marked_slot_of_each_stride():
    # MobileNetV2: C4 is the last 96-wide layer (stride 16), C5 the 320-wide one before the 1x1 conv
    # head (stride 32), because both are marked; sizes follow ceil(R / 2**n).
    space = get_space("mobilenet_v2")
    maps = space.feature_maps(320)
    assert list(maps) == ["C1", "C2", "C3", "C4", "C5"]
    assert [(m.height, m.channels.choices[0]) for m in maps.values()] == [
        (160, 16), (80, 24), (40, 32), (20, 96), (10, 320)]
    assert [space.positions[m.position].path for m in maps.values()][3:] == ["block5/layer2", "block7/layer0"]
    assert space.feature_maps(321)["C5"].height == 11


def test_feature_maps_fall_back_to_the_last_slot_of_a_stride():
    space = Space("two_convs", (Block([Conv(3, 2), Conv(3, 1), GlobalPool()], 8),))
    (c1,) = space.feature_maps(32).values()
    assert (c1.name, c1.position, c1.height) == ("C1", 1, 16)


def test_feature_maps_reject_a_bad_resolution():
    with pytest.raises(ValueError, match="resolution"):
        get_space("proxylessnas").feature_maps(0)
