"""gRPC servicers: decode, call the use case, encode."""

from __future__ import annotations

import uuid
from typing import Any

from fitness.workouts.v1 import workouts_pb2 as pb
from fitness.workouts.v1 import workouts_pb2_grpc as rpc
from fitness_platform.context import current_principal
from fitness_platform.errors import FieldViolation, InvalidArgument
from fitness_platform.events import timestamp
from fitness_platform.masks import present_fields, resolve_mask
from fitness_platform.pagination import decode_token, encode_token, page_size
from fitness_workouts import convert, domain, log, routines
from fitness_workouts.library import ExerciseLibrary
from fitness_workouts.log import WorkoutLog
from fitness_workouts.routines import Routines
from fitness_workouts.sync import changes_since

Context = Any


def _caller() -> uuid.UUID:
    return uuid.UUID(current_principal().user_id)


class ExerciseServicer(rpc.ExerciseServiceServicer):
    def __init__(self, library: ExerciseLibrary) -> None:
        self._library = library

    async def ListExercises(self, request: pb.ListExercisesRequest, context: Context) -> pb.ListExercisesResponse:
        filters = {
            column: value
            for column, value in (
                ("primary_muscle", convert.to_db("muscle", request.muscle)),
                ("equipment", convert.to_db("equipment", request.equipment)),
                ("difficulty", convert.to_db("difficulty", request.difficulty)),
                ("exercise_type", convert.to_db("exercise_type", request.exercise_type)),
            )
            if value
        }
        rows, token = await self._library.search(
            _caller(), request.query, filters, request.page_size, request.page_token
        )
        return pb.ListExercisesResponse(exercises=[convert.exercise_message(r) for r in rows], next_page_token=token)

    async def GetExercise(self, request: pb.GetExerciseRequest, context: Context) -> pb.GetExerciseResponse:
        row = await self._library.get(_caller(), request.exercise_id)
        return pb.GetExerciseResponse(exercise=convert.exercise_message(row))

    async def CreateExercise(self, request: pb.CreateExerciseRequest, context: Context) -> pb.CreateExerciseResponse:
        values = convert.exercise_values(request.exercise, convert.EXERCISE_FIELDS)
        if not values.get("difficulty"):
            values["difficulty"] = "beginner"
        row = await self._library.create(current_principal(), values, request.catalog, request.request_id)
        return pb.CreateExerciseResponse(exercise=convert.exercise_message(row))

    async def UpdateExercise(self, request: pb.UpdateExerciseRequest, context: Context) -> pb.UpdateExerciseResponse:
        present = present_fields(request.exercise, convert.EXERCISE_FIELDS)
        paths = resolve_mask(list(request.update_mask.paths), present, convert.EXERCISE_FIELDS, "exercise")
        values = convert.exercise_values(request.exercise, paths)
        row = await self._library.update(current_principal(), request.exercise_id, values)
        return pb.UpdateExerciseResponse(exercise=convert.exercise_message(row))

    async def DeleteExercise(self, request: pb.DeleteExerciseRequest, context: Context) -> pb.DeleteExerciseResponse:
        await self._library.delete(current_principal(), request.exercise_id)
        return pb.DeleteExerciseResponse()

    async def GetExerciseHistory(
        self, request: pb.GetExerciseHistoryRequest, context: Context
    ) -> pb.GetExerciseHistoryResponse:
        entries, token = await self._library.history(
            _caller(), request.exercise_id, request.page_size, request.page_token
        )
        response = pb.GetExerciseHistoryResponse(next_page_token=token)
        for e in entries:
            item = response.entries.add(
                workout_id=str(e["workout_id"]),
                started_at=timestamp(e["started_at"]),
                estimated_one_rep_max_kg=round(float(e["e1rm"]), 2),
                volume_kg=round(float(e["volume"]), 2),
                working_sets=e["working_sets"],
            )
            best: domain.SetEntry | None = e["best"]
            if best is not None:
                weight = convert.weight_message(best.weight, best.unit)
                if weight is not None:
                    item.best_set_weight.CopyFrom(weight)
                item.best_set_reps = best.reps or 0
        return response


class WorkoutServicer(rpc.WorkoutServiceServicer):
    def __init__(self, workouts: WorkoutLog) -> None:
        self._workouts = workouts

    async def CreateWorkout(self, request: pb.CreateWorkoutRequest, context: Context) -> pb.CreateWorkoutResponse:
        workout, records = await self._workouts.create(_caller(), request.workout, request.request_id)
        return pb.CreateWorkoutResponse(workout=workout, new_records=records)

    async def ListWorkouts(self, request: pb.ListWorkoutsRequest, context: Context) -> pb.ListWorkoutsResponse:
        start = convert.moment(request.start_time, "start_time") if request.HasField("start_time") else None
        end = convert.moment(request.end_time, "end_time") if request.HasField("end_time") else None
        if start and end and end <= start:
            raise InvalidArgument(FieldViolation("end_time", "must be after start_time"))
        found, token = await self._workouts.page(_caller(), request.page_size, request.page_token, start, end)
        return pb.ListWorkoutsResponse(workouts=found, next_page_token=token)

    async def GetWorkout(self, request: pb.GetWorkoutRequest, context: Context) -> pb.GetWorkoutResponse:
        return pb.GetWorkoutResponse(workout=await self._workouts.get(_caller(), request.workout_id))

    async def UpdateWorkout(self, request: pb.UpdateWorkoutRequest, context: Context) -> pb.UpdateWorkoutResponse:
        paths = resolve_mask(
            list(request.update_mask.paths), present_fields(request.workout, log.UPDATABLE), log.UPDATABLE, "workout"
        )
        workout, records = await self._workouts.update(_caller(), request.workout_id, request.workout, paths)
        return pb.UpdateWorkoutResponse(workout=workout, new_records=records)

    async def DeleteWorkout(self, request: pb.DeleteWorkoutRequest, context: Context) -> pb.DeleteWorkoutResponse:
        await self._workouts.delete(_caller(), request.workout_id)
        return pb.DeleteWorkoutResponse()

    async def ListPersonalRecords(
        self, request: pb.ListPersonalRecordsRequest, context: Context
    ) -> pb.ListPersonalRecordsResponse:
        records, token = await self._workouts.records(
            _caller(), request.exercise_id, request.page_size, request.page_token
        )
        return pb.ListPersonalRecordsResponse(records=records, next_page_token=token)


class RoutineServicer(rpc.RoutineServiceServicer):
    def __init__(self, routines_: Routines) -> None:
        self._routines = routines_

    async def CreateRoutine(self, request: pb.CreateRoutineRequest, context: Context) -> pb.CreateRoutineResponse:
        return pb.CreateRoutineResponse(
            routine=await self._routines.create(_caller(), request.routine, request.request_id)
        )

    async def ListRoutines(self, request: pb.ListRoutinesRequest, context: Context) -> pb.ListRoutinesResponse:
        found, token = await self._routines.list_mine(_caller(), request.page_size, request.page_token)
        return pb.ListRoutinesResponse(routines=found, next_page_token=token)

    async def GetRoutine(self, request: pb.GetRoutineRequest, context: Context) -> pb.GetRoutineResponse:
        return pb.GetRoutineResponse(routine=await self._routines.get(_caller(), request.routine_id))

    async def UpdateRoutine(self, request: pb.UpdateRoutineRequest, context: Context) -> pb.UpdateRoutineResponse:
        paths = resolve_mask(
            list(request.update_mask.paths),
            present_fields(request.routine, routines.UPDATABLE),
            routines.UPDATABLE,
            "routine",
        )
        routine = await self._routines.update(_caller(), request.routine_id, request.routine, paths)
        return pb.UpdateRoutineResponse(routine=routine)

    async def DeleteRoutine(self, request: pb.DeleteRoutineRequest, context: Context) -> pb.DeleteRoutineResponse:
        await self._routines.delete(_caller(), request.routine_id)
        return pb.DeleteRoutineResponse()

    async def ListPublicRoutines(
        self, request: pb.ListPublicRoutinesRequest, context: Context
    ) -> pb.ListPublicRoutinesResponse:
        newest = request.order == pb.PUBLIC_ROUTINE_ORDER_NEWEST
        found, token = await self._routines.list_public(
            _caller(), request.query, newest, request.page_size, request.page_token
        )
        return pb.ListPublicRoutinesResponse(routines=found, next_page_token=token)

    async def LikeRoutine(self, request: pb.LikeRoutineRequest, context: Context) -> pb.LikeRoutineResponse:
        return pb.LikeRoutineResponse(like_count=await self._routines.like(_caller(), request.routine_id))

    async def UnlikeRoutine(self, request: pb.UnlikeRoutineRequest, context: Context) -> pb.UnlikeRoutineResponse:
        return pb.UnlikeRoutineResponse(like_count=await self._routines.unlike(_caller(), request.routine_id))

    async def CopyRoutine(self, request: pb.CopyRoutineRequest, context: Context) -> pb.CopyRoutineResponse:
        routine = await self._routines.copy(_caller(), request.routine_id, request.name, request.request_id)
        return pb.CopyRoutineResponse(routine=routine)


class SyncServicer(rpc.SyncServiceServicer):
    def __init__(
        self, library: ExerciseLibrary, workouts: WorkoutLog, routines_: Routines, engine: Any, default_page: int
    ) -> None:
        self._library = library
        self._workouts = workouts
        self._routines = routines_
        self._reader = engine
        self._default_page = default_page

    async def GetChanges(self, request: pb.GetChangesRequest, context: Context) -> pb.GetChangesResponse:
        user = _caller()
        try:
            position = decode_token(request.since, {"seq": int}) if request.since else None
        except InvalidArgument as exc:
            raise InvalidArgument(FieldViolation("since", "is not a cursor this service gave")) from exc
        since = position["seq"] if position else 0
        limit = page_size(request.page_size, default=self._default_page, maximum=500)
        # One snapshot for every query: otherwise a change committed between
        # two of them could fall behind the cursor and never be sent.
        snapshot = self._reader.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with snapshot.connect() as conn, conn.begin():
            ids, buried, last, more = await changes_since(conn, user, since, limit)
            found_workouts = await self._workouts.load_many(conn, ids["workout"])
            found_routines = await self._routines.load(conn, user, ids["routine"])
            exercise_rows = await ExerciseLibrary.rows(conn, ids["exercise"])
        kinds = {
            "workout": pb.RESOURCE_TYPE_WORKOUT,
            "routine": pb.RESOURCE_TYPE_ROUTINE,
            "exercise": pb.RESOURCE_TYPE_EXERCISE,
        }
        return pb.GetChangesResponse(
            workouts=found_workouts,
            routines=found_routines,
            exercises=[convert.exercise_message(r) for r in exercise_rows],
            deleted=[
                pb.Tombstone(
                    resource_type=kinds[g["resource_type"]],
                    id=str(g["resource_id"]),
                    delete_time=timestamp(g["deleted_at"]),
                )
                for g in buried
            ],
            next_cursor=encode_token({"seq": last}),
            has_more=more,
        )
