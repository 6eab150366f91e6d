"""Baseline of the project's service: FastAPI, the same model, predict, no validation.

The practical limit for a FastAPI service of this model: the JSON rows become a DataFrame
and go to `model.predict`, with the uvicorn settings of the project's service (one
worker, httptools and uvloop from uvicorn[standard], no access log). Run with a
project's interpreter from the project directory (MODEL_URI, PORT).
"""

import os

import mlflow.sklearn
import pandas as pd
import uvicorn
from fastapi import FastAPI, Request

model = mlflow.sklearn.load_model(os.environ["MODEL_URI"])
app = FastAPI()


@app.get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/predict")
async def predict(request: Request) -> dict[str, list[float]]:
    frame = pd.DataFrame.from_records((await request.json())["instances"])
    return {"predictions": model.predict(frame).tolist()}


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, access_log=False)
