def test_import():
    import jaxnas.searchspace
    assert jaxnas.searchspace.__version__
