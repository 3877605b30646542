"""The Streamlit app: chat, objectives, consultation questions and documents.

Run from the repository root with `python -m streamlit run ui/app.py`.
"""
