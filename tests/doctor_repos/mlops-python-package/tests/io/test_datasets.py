import pandas as pd

from bikes.io.datasets import split


def test_the_split_keeps_time_order():
    train, test = split(pd.RangeIndex(10))
    assert list(train) == list(range(8)) and list(test) == [8, 9]
