package sam2

const realData = "../../../shared/data/real/totalsegmentator"
