"""Print the first rows of the breast-cancer features, snake_case columns, as JSON."""

import json
import re
import sys

from sklearn.datasets import load_breast_cancer

frame = load_breast_cancer(as_frame=True).frame.drop(columns="target").head(int(sys.argv[1]))
columns = [re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() for name in frame]
print(json.dumps({"columns": columns, "data": frame.to_numpy().tolist()}))
