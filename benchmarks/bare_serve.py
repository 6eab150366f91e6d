"""Baseline of the project's service: FastAPI, the same model, predict, no validation.

Run with a project's interpreter from the project directory (MODEL_URI, PORT).
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
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), workers=1)
