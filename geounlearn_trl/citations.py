"""BibTeX of the works every card of a family cites (the setting's paper, its data, TRL, Who's Harry Potter).

A method's own paper lives with the method, in its trainer's ``_paper`` (TRL's convention); this holds what several
methods share, so that each entry is written once.
"""

CITATIONS: dict[str, str] = {
    "farashah2025geocultural": """\
@inproceedings{farashah2025geocultural,
  title     = {Unlearning Geo-Cultural Stereotypes in Multilingual {LLM}s},
  author    = {Dehghanpour Farashah, Alireza and Khandelwal, Aditi and Rostamzadeh, Negar and Farnadi, Golnoosh},
  booktitle = {ICLR 2025 Workshop on Building Trust in Language Models and Applications},
  year      = {2025},
  url       = {https://iclr.cc/virtual/2025/33311}
}""",
    "eldan2023whp": """\
@misc{eldan2023whp,
  title         = {Who's {H}arry {P}otter? Approximate Unlearning in {LLM}s},
  author        = {Eldan, Ronen and Russinovich, Mark},
  year          = {2023},
  eprint        = {2310.02238},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CL},
  url           = {https://arxiv.org/abs/2310.02238}
}""",
    "jha2023seegull": """\
@inproceedings{jha-etal-2023-seegull,
  title     = {{S}ee{GULL}: A Stereotype Benchmark with Broad Geo-Cultural Coverage Leveraging Generative Models},
  author    = {Jha, Akshita and Mostafazadeh Davani, Aida and Reddy, Chandan K. and Dave, Shachi and
               Prabhakaran, Vinodkumar and Dev, Sunipa},
  booktitle = {Proceedings of the 61st Annual Meeting of the Association for Computational Linguistics},
  year      = {2023},
  url       = {https://arxiv.org/abs/2305.11840}
}""",
    "vonwerra2020trl": """\
@software{vonwerra2020trl,
  title   = {{TRL: Transformers Reinforcement Learning}},
  author  = {von Werra, Leandro and Belkada, Younes and Tunstall, Lewis and Beeching, Edward and Thrush, Tristan and
             Lambert, Nathan and Huang, Shengyi and Rasul, Kashif and Gallou{\\'e}dec, Quentin},
  license = {Apache-2.0},
  url     = {https://github.com/huggingface/trl},
  year    = {2020}
}""",
}
