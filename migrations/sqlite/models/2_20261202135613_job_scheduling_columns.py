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
    "eJztXW1v27YW/iuCPnVAFqRulhXBxQAncVuvjt3FzrZuGQRaom0tMqVSUhPf3v73S+rFki"
    "hSseSXSAq/JDbJwyjPIalznnNIflOXtgEt97jrmB/hSj1XvqkILCH5wNQcKSpwnKScFnhg"
    "agVNgWNq91GjqethoHukeAYsF5IiA7o6Nh3PtBEpRb5l0UJbJw1NNE+KfGR+8aHm2XPoLS"
    "AmFX//Q4pNZMBH6MZfnXttZkLLyDyradC/HZRr3soJym5v+1fvgpb0z0013bb8JUpaOytv"
    "YaN1c983jWMqQ+vmEEEMPGik/g36lNE/HBeFT0wKPOzD9aMaSYEBZ8C3KBjqf2Y+0ikGyh"
    "Lge+i5K6Qfm4Z7jOCDZhq/RE+ZktC04WiijXsTTVNLwKjbiKrARB7F7Nv3sN8Em6BUpX/g"
    "8kP35tWbsx8CNGzXm+OgMkBO/R4IAg+EogH+CeA2ngNk/hfQp9F46F8uAOajzxFlVEEev4"
    "oS4oICLcSo7QFndQkeNQuiubcgXzs//VQA/O/dmwB70ioA3yYzJpxJw6iqE9ZRJSSgB79L"
    "IB23rwRvhF0Busn8Pji8r09ONoCXtBLCG9Rl4SUrmLYA7qIMxGmZ3Yzip5eSg6F8droByG"
    "enQoxpVRZiB8OZ+VgG4ERiX4vEcw7js01G8Zl4EJ+xAOsYUjA04OVBviI1nrmEfKCzkgzY"
    "RiR6HH9oIvTkHzRGyFpFc6oA+kn/ujeedK8/0T+3dN0vVoBfd9KjNZ2gdMWUvmLVtO5E+a"
    "M/+aDQr8pfo2GPfduu203+UukzAd+zNWQ/aMBITf+4NEYto3ULuJ7mu5X0zsruQPM1e3U0"
    "RNExJoWaxvCrfV9Jz1lJqeW6aZn6NrP7lLFNC6ZAv38A2NByNXbHFrXNVy07S7YEIDAPlE"
    "TRpM8ZuXtX0DK/Qrzqeh5cOp7K8QjZJkdFruEDnC5s+57oOxQi4y+Rkr7iS/AVUxrPot5H"
    "Hh/0lASDPHnSJpoec/oQP3Zen/58+vbN2elb0iR40HXJzwXQ94cTxspzPeD5LgHM4PiDQl"
    "QZqUrI1mzR3zWwho9DXmLplgCWkZJDloMsxNjGmk6sTQ6yYvePEWshk9F5u4kP2HkrdgJp"
    "HQfsPMwT+CgYwWuBNgBcZAn2/pxkjMAYxlfX3T9/yBiCg9Hwfdw8BfvlYHTBoE3ehA55Aq"
    "jBRx1i3otODDxPVuqgvA4k7yFeb9rLe6ydinI2PSO2S+O+vtPuCQM+537mUc5D/M7G0Jyj"
    "j3AVAN0nzwKQzrMuI9fxj9AbvEr12EyEk9JkqGLwsHY32TFGoCAl0AvNne74snvVU78/j4"
    "vfR18h8my8ugCevlA5Hj7T4qjIwTfjttp03Xinfv3f5A1IxlkEZPBHNAxJK9ejZf9Iv7+m"
    "fn9OVSXsfp5sCwNAewkTO7670P61pyXfioyYfCuyJqa9dIIVPIfphW1bECCBfZkSYzCdEr"
    "l9wbkuOSyeF6PRIGM8XvRZ6/32+qJHPNoActLIDN+JecaAVCwJjj4qwxxmhQ7HxJzsa7nY"
    "MQ0zA6ZFnJ1K2HJlJcS8ccvhuH4dj4biMctjtwxT95T/KZbp7g3TlMUx9U3LM5F7TP/ec1"
    "gaFKBiXoClAJg1m3aQ4wVsNDPxkgxb33EhpuhtPuD5wnLEsyNeki9iqNtLvviOUVHrWUmp"
    "9bponZObED19OvSY+OKbehZpGelWFJNtAVY7YNrGcT/NBPVJfi09pmpJrvWJVTf2QPBQYo"
    "ItaXW0GckWWN/uWmKvTBsOUgUkwVZfgg3zU0CKeDUsyP+QdJqATvviA+SZHif8IXQc0iIy"
    "G4SXwAQsqDnY1DmD9wrq5hJYAlMiI8iajqHkcdRDA3EuAPGqd9m/7g5evT496jDcWTywT3"
    "NbWqgvXwnnrKDE+QmcdR9jiPRVCFGJ9Tgn2MJV+c0Ga/Ib4Yr8Jof1mpWpwDcwsi30PZvr"
    "a+YpBulsSmdTOptiZ/NXe6pyvEtafFTkTv4bNdjn/ousMxm/3lKEL2mfbRPmp+fLp7aRbL"
    "J9wORlrMHZDBI/7muuT+mc1sU5FVtCPeQvcwtLBv4mGEPqeDK66Wnjz8PLcyX5fIf6w997"
    "Q/L9s/bpdvzhXMl+z9SPBoNMPfmuVjCwdr+NOJqKFdWXSB9Ogepvt73b3lXJORJJnSvh7z"
    "t0czsc9ofvz5Xowx0a315e9sZjouPwwx161+0PqEz4ux4Ki3ZMldm1khaRMU3OFitcLbqV"
    "lZQbbevsYMxMZLqLSmpmRKWe66xn118Sm4pD4YqzclIiW+XlNEere0nAkVvRDrkNygEryw"
    "YcV0c8zlMicpxXH+cZJ3XjaFxaqA3jfd/nR3G8/xKp2BxpmZFdIiNbX/joXgv+xxJ+BiMl"
    "jx3IA+sADJFXZc8GK7gFZVUzjHezaQMRO0PDPqpg4DOi0sCvs4FPAPWJL+ZaNkfP4vnDiO"
    "1w9jzrMY472vAk07pbluAr07pfotZlWreMtNcE1MZG2kPcObH2tULE0fa17nedrc05ST2M"
    "HDsWCAcRMWEhRsDS1riy2dzcXrLvbypFY/L5Uhltr0u0vRnn8bctNZyZbVVi5UwXdUZe7U"
    "3Gn88V+vMOjT+MPvXfka/RhzvUve4S4+RcCX/foclNb3j1eTQ4V+JPagW97T5Unl8TS0wW"
    "rnCdlVan6RJiVvYWi6yUxHozrIGuQ9clBsM9RBpEOl453M3v4kCcuIdW6ODQobk407/M0E"
    "/LtAL0vW4MoBZcOFxLebEZqToZocmT1dIYZa6fCJ624vUTKVlJs9eHJcqTg+bSsYPkNhsb"
    "EJfJNuRIyqTDXIDVRkgLZkSUnFltixO3Dzmx6jyxEq25fmh3baP5bB9S8w3R/FZJ97x+Dp"
    "h+378a9EpaKYHMuUJ/NjfxPoG9fPYGT1YmcIjwLZ1JyhFtQ47dwR1XCmP1qDBHXL6Qav1C"
    "kmkfLUsAkGkfL1HrorSPXJaCOKKecvyzp/xDjpl6EXXx7uMNtIJoImc8CC8YaNiYEOUzZN"
    "mSzKltu4Isc2RcG2EjxvCWWEUHILQRnIAqtez5lgiNSTcDe94mlPaa/hPBxUsASpAsSAGK"
    "tBa02uOZjRjqkPTDyfJJSIEwrx16wV2sm5/CIU/ZqGPeT6zwHOrioGJKpIUxxT0lLjTuOI"
    "xPveFVf/i+LCUXiZ0r0Yenabg7dEMMWW3Qv+5PaGn6Wz0ouiDiVDopLpFpA2l0iIyTJf8+"
    "kcJzJhOhrc+YrBniBQBvdcRkmVG8df5IzTDda/pIeNWwAT1gWhXuKE4Jtg/q3e/kbsil8E"
    "3JHMga9fk1eIOdrilhSdDXh7MrSMIpr2lGVOq5znqWgRjx8tlMSl4GYl6i1kWBGLn/dsdE"
    "mdx/+xSojd1/y14czyHiOXfLiwn5h7Cxlr7bftfEPKQBO2JX6zb570NIITIcm6DP34lbyN"
    "EXb9OVlHxtKHm5FVdS9PWi6OtBw0vGR5WMTy3MyJo7BxwmwAJmcA018kyrNBnACktd11nX"
    "1XLdZZr7tmnuAYJEjw55DCjciyN8V4nE5XGn8r749lNckth8iVrfhNhMMx45tYt5CEZM0p"
    "tsskKeW9oY2ryohLeYPU5DtgMSOWIqe7TXm3WnzQT6SUaZM9z4xDJv1dgh2Kke24p0ds0s"
    "S99vcplYmS0GMRHfTViclgC/160G7HgVRzrSQ/rpSEd6Sh3gINJg2ocPgklTzcdWLuIhYx"
    "YyZlHbyX+AmMV6jlQJWayF64y2Sq9E1YgLcRPsDQgmSXQ/4h0K6i5H158GvaRWt5cOfWnF"
    "9XEkI6icAdMKjyAsnSvc2SRZuCPOFu6wykutayVmS1aqzqqrOlFOTt9uMlNIM/FUCSqZ+B"
    "7UMQGu0kmWPNlWQH9ojtR0NVDl4q2M3AGv3Ipf2829cYuyybpPodPo4udj3s578dVbAnEZ"
    "TZWUdNvJSUlJv0StiyjpSoeeRMmB5rannXAyExs2Gp6VCUnRpAVkSJZM3YAPif2nJ8kQtY"
    "sU2/em9qOC7YcjhV4j6kGkmEjxFpDgAJALQi7AngVF+gKgOVRMTwl7mkL3mPVadtcrh5KR"
    "RIskWrZYWw55V+HB7p14ls0VNcvk2GHwUfJWzeStnvGK+JpaNTxo93JHvHQyxaO+me6GyM"
    "mU7kbz3I0ugV5fqBwXI6opdCtA0manwdVtLHnxZRy8tZzDAkbDezsLvvaJqWJrnUwfN5pq"
    "m1rpKZE6Gzh1Ms/ppCqBcNS8hei+PjnZZNPVyYl419VJ/twoG3lcc11s76VEpL1X0t4r8e"
    "bf/cvs+/8B3J1p0A=="
)
