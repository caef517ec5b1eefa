"""``openseeker view``: look at pipeline outputs (QA samples, rejections and yield, trajectories, SFT exports,
evaluation runs) in a local web page, or export them as a static site. See docs/view.md."""
