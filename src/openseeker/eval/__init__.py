"""openseeker.eval"""
