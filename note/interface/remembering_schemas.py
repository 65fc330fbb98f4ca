"""Request and response models of the remembering routes (SPEC §14): review, on this day, stats."""

import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from note.application.remembering_service import DueReviews, OnThisDay, Stats, YearAgo
from note.domain.note import format_memo_date
from note.domain.review import DueNote, Rating, ReviewSchedule, ReviewState
from note.interface.schemas import NoteResponse
from web.schemas import ResponseModel, UtcTimestamp


class ReviewRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"rating": "good"}]})

    rating: Rating = Field(description="How well the note was remembered")


class ReviewSummary(ResponseModel):
    due_at: UtcTimestamp
    state: ReviewState
    reps: int = Field(description="Reviews so far")
    lapses: int = Field(description="'again' ratings given while the note was in review")
    last_reviewed_at: UtcTimestamp | None

    @classmethod
    def from_domain(cls, schedule: ReviewSchedule) -> Self:
        return cls(
            due_at=schedule.due_at,
            state=schedule.state,
            reps=schedule.reps,
            lapses=schedule.lapses,
            last_reviewed_at=schedule.last_reviewed_at,
        )


class ReviewResponse(ReviewSummary):
    """The schedule after a review, with FSRS's memory model of the note."""

    stability: float | None = Field(description="FSRS stability, in days")
    difficulty: float | None = Field(description="FSRS difficulty, 1..10")

    @classmethod
    def from_domain(cls, schedule: ReviewSchedule) -> Self:
        return cls(
            **ReviewSummary.from_domain(schedule).model_dump(),
            stability=schedule.stability,
            difficulty=schedule.difficulty,
        )


class DueNoteResponse(NoteResponse):
    review: ReviewSummary

    @classmethod
    def from_due(cls, due: DueNote) -> Self:
        return cls(**NoteResponse.from_domain(due.note).model_dump(), review=ReviewSummary.from_domain(due.schedule))


class DueReviewsResponse(ResponseModel):
    due_count: int = Field(description="How many of the caller's notes are due now, whatever limit says")
    notes: list[DueNoteResponse] = Field(description="Most overdue first")

    @classmethod
    def from_domain(cls, due: DueReviews) -> Self:
        return cls(due_count=due.due_count, notes=[DueNoteResponse.from_due(note) for note in due.notes])


class YearAgoResponse(ResponseModel):
    years_ago: int
    notes: list[NoteResponse]

    @classmethod
    def from_domain(cls, year: YearAgo) -> Self:
        return cls(years_ago=year.years_ago, notes=[NoteResponse.from_domain(note) for note in year.notes])


class OnThisDayResponse(ResponseModel):
    date: str = Field(description="YYYYMMDD", examples=["20261201"])
    years: list[YearAgoResponse] = Field(description="Newest year first")

    @classmethod
    def from_domain(cls, result: OnThisDay) -> Self:
        return cls(date=format_memo_date(result.date), years=[YearAgoResponse.from_domain(y) for y in result.years])


class DayCount(ResponseModel):
    date: str = Field(description="YYYYMMDD", examples=["20261201"])
    count: int

    @classmethod
    def from_domain(cls, day: datetime.date, count: int) -> Self:
        return cls(date=format_memo_date(day), count=count)


class StatsResponse(ResponseModel):
    total_notes: int
    total_tags: int
    current_streak: int = Field(description="Consecutive days with notes ending today or yesterday; else 0")
    longest_streak: int
    days: list[DayCount] = Field(description="The last 365 days (caller's timezone) with notes, oldest first")

    @classmethod
    def from_domain(cls, stats: Stats) -> Self:
        return cls(
            total_notes=stats.total_notes,
            total_tags=stats.total_tags,
            current_streak=stats.current_streak,
            longest_streak=stats.longest_streak,
            days=[DayCount.from_domain(day, count) for day, count in stats.days],
        )
