from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "job" ADD "queued_slot" CHAR(36);
        ALTER TABLE "job" ADD "next_run_at" TIMESTAMP;
        CREATE UNIQUE INDEX "uid_job_queued__195f81" ON "job" ("queued_slot");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "uid_job_queued__195f81";
        ALTER TABLE "job" DROP COLUMN "queued_slot";
        ALTER TABLE "job" DROP COLUMN "next_run_at";"""


MODELS_STATE = (
    "eJztXVFzm7gW/isMT92ZbCZ1s9lO5s7OOInbeuvY3djZ3e5mh5FBttlgQQU08e3tf78SYA"
    "NCIgZjB4heWlvSkZXvSHDOd46kb+rSNqDlHncd8yNcqefKNxWBJSQfmJojRQWOE5fTAg9M"
    "raApcEztPmo0dT0MdI8Uz4DlQlJkQFfHpuOZNiKlyLcsWmjrpKGJ5nGRj8wvPtQ8ew69Bc"
    "Sk4u9/SLGJDPgI3fVX516bmdAyUmM1DfrbQbnmrZyg7Pa2f/UuaEl/bqrptuUvUdzaWXkL"
    "G22a+75pHFMZWjeHCGLgQSPxZ9BRRn/wuigcMSnwsA83QzXiAgPOgG9RMNT/zHykUwyUJc"
    "D30HNXSD82DfcYwQfNNH6JRpmQ0LThaKKNexNNUwvAqNuIqsBEHsXs2/ew3xiboFSlP3D5"
    "oXvz6s3ZDwEatuvNcVAZIKd+DwSBB0LRAP8YcBvPATL/C+hoNB76lwuA+ehzRBlVkOGXUc"
    "K6IEcLa9T2gLO6BI+aBdHcW5CvnZ9+ygH+9+5NgD1pFYBvkxUTrqRhVNUJ66gSYtDJEtMW"
    "wF0UQTspUw3MT8/1g6F8droFyGenQoxpVRpiB8OZ+VgE4FhiX7M4fo4eHODXZ1sA/PpMCD"
    "CtSgOsY0jB0ICXBfmK1HjmEvKBTksyYBuR6PH6QxOhJ3+gMULWKlpTOdBP+te98aR7/Yn+"
    "3NJ1v1gBft1Jj9Z0gtIVU/qKVdOmE+WP/uSDQr8qf42GPfZ1sGk3+UulYwK+Z2vIftCAkV"
    "j+69I1aimtW8D1NN8tpXdWtgLNR0Oui+Iboug1JrmaxvCrfV9Kz2lJqeW6aZka37P7hDVI"
    "C6ZAv38A2NAyNXbHFrXNVi07S7YEIDAPlETRpOOM/JEraJlfIV51PQ8uHU/luCxsk6M83+"
    "UBThe2fU/0HQqR+RdLSWfmJTgzCY2nUe8jjw96QoJBnoy0iabHnA7ix87r059P3745O31L"
    "mgQD3ZT8nAN9fzhhrDzXA57vEsAMWABVRqoUsjV76FcNrOHj0HFeugWAZaTklOUgCzG2sa"
    "YTa5ODrNj9Y8RK+YB1m7NpF7DzdhsfsPNW7ATSOg7YWZgn8FEwgzcCbQA4zxLs/TlJGYFr"
    "GF9dd//8IWUIDkbD9+vmCdgvB6MLBm3yJnTICKAGH3WIeS86MfA8WamD4jqQvIf4edNe3m"
    "PjVBSz6RmxKo37+i67Jwz4jPuZRTkL8TsbQ3OOPsJVAHSfjAUgnWddRq7jH6E3eJXosZkI"
    "x6XxVMXgYeNusnOMQEFKoBeaO93xZfeqp35/Hhe/j75C5Nl4dQE8faFyPHymxVGeg2+u22"
    "rTTeNK/fq/yRuQzLMIyOBHNAxJK9ejZf9Iv7+mfn9GVQXsfp5sCwNAe4ljOr670P61pwXf"
    "ioyYfCuyJqa9dIIneAbTC9u2IEAC+zIhxmA6JXL7gnNTclg8L0ajQcp4vOiz1vvt9UWPeL"
    "QB5KSRGb4Ts4wBqVgSHH1UhDlMCx2OiTnZ1+OiYhpmBkyLODulsOXKSoh585bDcf06Hg3F"
    "c5bHbhmm7in/UyzT3RumCYtj6puWZyL3mP7ec1gaFKB8XoClAJhnNu0gwwvYaGbiJZm2vu"
    "NCTNHbfsLzheWMZ2e8JF/EULeXfPEdo6TW05JS63XROic3IRp9MvQY++LbehZJGelW5JNt"
    "AVYVMG3jdT/NBPVJfi05p2pJrvWJVTf2QDAoMcEWtzrajmQLrG93I7FXpg0HqQKSYKsvwY"
    "b5KSB5vBoW5H9IOk1Ap33xAfJMjxP+EDoOSRGZDcJLYAIW1Bxs6pzJewV1cwksgSmREmRN"
    "x1DyOOqhgTjngHjVu+xfdwevXp8edRjubD2xT0/YuUt9+VI4pwUlzk/grPsYQ6SvQogKPI"
    "8zgi18Kr/Z4pn8RvhEfpPBesPKlOAbGNkW+p7N9TWzFIN0NqWzKZ1NsbP5qz1VOd4lLT7K"
    "cyf/jRrsc/9F2plcv94ShC9pn24T5qdny6e2EW+yfcDkZazB2QwSP+5rpk/pnNbFORVbQj"
    "3kLzMPlhT8TTCG1PFkdNPTxp+Hl+dK/PkO9Ye/94bk+2ft0+34w7mS/p6qHw0GqXryXS1h"
    "YFW/jThaiiXVF0sfToHqb7e9295VwTUSSZ0r4f936OZ2OOwP358r0Yc7NL69vOyNx0TH4Y"
    "c79K7bH1CZ8P96KCzaMVVk10pSRMY0OVuscLnoVlpSbrSts4MxM5HpLkqpmRGVeq6znl1/"
    "SWwqDoUrzspJiOyUl9Mcre4lAUduRTvkNigHrCwbcFwd8TxPiMh5Xn6ep5zUraNxSaE2zP"
    "d9nx/F8f4LpGJzpGVGdoGMbH3ho3st+BsL+BmMlDx2IAusAzBEXpk9G6zgDpRVzTCuZtMG"
    "InaGhn1UwsBnRKWBX2cDnwDqE1/MtWyOnsXrhxGrcPU86zGOFW14kmndLUvwlWndL1HrMq"
    "1bRtprAmpjI+0h7pxY+0Yh4mj7RvdVZ2tzjvoOI8eOBcJJRExYiBGwtA2ubDY3t5f0+5tK"
    "0Zh8tlRG2+sSbW/GgfFtSw1nVluZWDnTRZ2RV3uT8edzhf57h8YfRp/678jX6MMd6l53iX"
    "FyroT/36HJTW949Xk0OFfWn9QSeqs+VJ59JhZYLFzhOiutTsslxCz4VgDytJTEejusga5D"
    "1yUGwz1EGkQ6Xjncze/iQJy4h1bo4NChuXWmf5Gpn5RpBeh73RhALbhwuhbyYlNSdTJC45"
    "HV0hhlrp8IRlvy+omErKTZ68MSZclBc+nYQXKbjQ2Ii2QbciRl0mEmwGojpAUrIkrOLLfF"
    "iduHXFh1Xlix1lw/tLt20Xy6D6n5hmh+p6R7Xj8HTL/vXw16Ba2UQOZcof82N/E+hr149g"
    "ZPViZwiPAtnEnKEW1Djt3BHVcKY/moMEdcvpBq/UKSaR8tSwCQaR8vUeuitI9MloI4op5w"
    "/NOn/EOOmXoRdfHu4w20gmgiZz4ILxho2JwQ5TOk2ZLUqW1VQZY6Mq6NsBFjeEesogMQ2g"
    "hOQJVa9nxHhMakm4E9bxNKe03/ieDiJQDFSOakAEVaC1rt8cxGDHVI+uFk+cSkQJjXDr3g"
    "LtbtT+GQp2zUMe9nrfAM6uKgYkKkhTHFPSUuNO44jE+94VV/+L4oJReJnSvRh6dpuDt0Qw"
    "xZbdC/7k9oafJbPSi6IOJUOCkulmkDaXSIjJMl/z6R3HMmY6Gdz5isGeI5AO90xGSRWbxz"
    "/kjNMN1r+kh41bABPWBaJe4oTgi2D+rqd3I35FL4pmQOpI367DN4i52uCWFJ0NeHs8tJwi"
    "muaUZU6rnOepaBGPHjs5mUvAzEvEStiwIxcv9txUSZ3H/7FKiN3X/LXhzPIeI5d8uLCfmH"
    "sLGWvNu+amIe0oAdsat1m/z1IaQQGY5N0OfvxM3l6PO36UpKvjaUvNyKKyn6elH09aDhJe"
    "OjSsanFmZkzZ0DDhNgATO4hhp5plWYDGCFpa7rrOtyue4yzX3XNPcAQaJHhwwDCvfiCN9V"
    "InF53Km8L779FJckNl+i1rchNpOMR0btYh6CEZP0JpuskOWWtoY2KyrhzWePk5BVQCJHTG"
    "WP9nqz6bSZQD/JKHOmG59Y5j01KgQ70WNbkU4/M4vS99tcJlZki8GaiO/GLE5LgN/rVgN2"
    "voojHckp/XSkI7mkDnAQabDsw4Fg0lTzsZWJeMiYhYxZ1HbxHyBmsVkjZUIWG+E6o63SK1"
    "E14kLcBHsDgkUS3Y94h4K6y9H1p0EvrtXtpUNfWuv6dSQjqJwB0wqPICycK9zZJlm4I84W"
    "7rDKSzzXCqyWtFSdVVd2oZycvt1mpZBm4qUSVDLxPahjAlypkyx5sq2A/tAcqelqoMzFWy"
    "m5A165tX5tN/fGLcom6z6FTqMPPx/zdt6Lr94SiMtoqqSk205OSkr6JWpdREmXOvQkSg40"
    "dz3thJOZ2LDZ8KxMSIImzSFD0mTqFnzI2n96kgxRu0ixfW9qPyrYfjhS6DWiHkSKiRRvAQ"
    "kOALkg5ALsWVCkLwCaQ8X0lLCnKXSPWa+lul45lIwkWiTRssOz5ZB3FR7s3oln2VxRs0yO"
    "CoOPkrdqJm/1jFfE19Sq4UG7lzvipZMpnvXNdDdETqZ0N5rnbnQJ9PpC5bgYUU2uWwHiNp"
    "UGV3ex5MWXcfCe5RwWMJreu1nwtU9MFVvrZPm40VLb1kpPiNTZwKmTeU4XVQGEo+YtRPf1"
    "yck2m65OTsS7rk6y50bZyOOa62J7LyEi7b2C9l6BN3/1L7Pv/wcQA/s9"
)
