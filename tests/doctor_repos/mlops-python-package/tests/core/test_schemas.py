from bikes.core.schemas import InputsSchema, TargetsSchema


def test_the_fixtures_match_the_schemas(inputs, targets):
    InputsSchema.validate(inputs)
    TargetsSchema.validate(targets)
